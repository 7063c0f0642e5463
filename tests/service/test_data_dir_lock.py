"""One node per data_dir: a second node started on a data_dir in use exits with status 2 and a
one-line message before it opens any store; the lock dies with its process (a SIGKILLed node
leaves nothing stale behind)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from chordshare.cli.launcher import LocalCluster
from chordshare.errors import ConfigError
from chordshare.service.lock import LOCK_FILE, DataDirLock
from chordshare.service.node_service import NodeService
from chordshare.storage.records.store import DB_FILE

from .conftest import config

START_TIMEOUT = 60.0
"""Seconds for one node process to start (interpreter, imports, servers) on a loaded machine."""


def test_a_locked_data_dir_is_refused_until_its_lock_is_released(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    held = DataDirLock.acquire(data_dir)  # creates the directory
    assert (data_dir / LOCK_FILE).is_file()
    with pytest.raises(ConfigError) as refused:
        DataDirLock.acquire(data_dir)
    message = str(refused.value)
    assert "\n" not in message
    assert f"data_dir {data_dir} is in use by another chordshare node" in message
    assert f"(pid {held.pid}," in message
    held.release()
    DataDirLock.acquire(data_dir).release()


def test_a_data_dir_that_cannot_be_created_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(ConfigError, match="cannot create"):
        DataDirLock.acquire(tmp_path / "file" / "data")


async def test_a_second_service_on_the_same_data_dir_refuses_to_start(
    launch: Any, tmp_path: Path
) -> None:
    first = await launch()
    data_dir = first.service.config.data_dir
    second = NodeService(config(data_dir=data_dir), announce=lambda line: None)

    with pytest.raises(ConfigError, match="is in use by another chordshare node"):
        await second.run()

    assert second.node is None  # refused before anything was built, no store opened
    assert first.service.ready.is_set()
    assert (data_dir / DB_FILE).exists()
    assert first.service.files is not None
    assert await first.service.files.store.count() == 0  # the first's store still answers


async def test_a_stopped_service_releases_its_data_dir(launch: Any) -> None:
    first = await launch()
    data_dir = first.service.config.data_dir
    first.service.request_stop("test")
    assert await asyncio.wait_for(first.task, 20) == 0

    again = await launch(data_dir=data_dir)

    assert again.service.ready.is_set()


@pytest.mark.slow
@pytest.mark.xdist_group("e2e")
@pytest.mark.timeout(240)
def test_a_second_node_process_on_a_data_dir_in_use_exits_2(
    process_cluster: LocalCluster,
) -> None:
    cluster = process_cluster
    first = cluster.start()
    cluster.wait_ready([first], START_TIMEOUT)
    data_dir = cluster.workdir / first.name / "data"
    second = cluster.add(data_dir=str(data_dir))
    cluster.launch(second)

    assert second.wait(START_TIMEOUT) == 2
    log = second.log_path.read_text()
    assert log.strip().splitlines()[-1] == (
        f"chordshare: data_dir {data_dir} is in use by another chordshare node (pid "
        f"{first.pid}, lock {data_dir / LOCK_FILE}); give each node a data_dir of its own"
    )
    assert "Traceback" not in log
    assert second.output() == ""  # never printed a ready line
    assert first.alive

    first.kill()  # SIGKILL: no clean-up ran, yet the kernel dropped the lock with the process
    third = cluster.start(data_dir=str(data_dir))
    cluster.wait_ready([third], START_TIMEOUT)
