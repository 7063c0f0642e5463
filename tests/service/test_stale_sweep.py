"""A node removes the leftovers of abandoned transfers under data_dir (partial downloads in the
blob store, REST upload spools) once untouched for ``stale_part_age``: at start and in a
periodic maintenance job that spares the transfers in progress."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from chordshare.errors import ConfigError
from chordshare.service.files import SPOOL_DIR, NodeFiles
from chordshare.service.loading import load_config
from chordshare.storage.files.stale import DEFAULT_STALE_PART_AGE
from tests.conftest import node_dirs
from tests.service.conftest import Running

HOUR = 3600.0


def files_of(running: Running) -> NodeFiles:
    assert running.service.files is not None
    return running.service.files


def leftover(path: Path, age: float) -> Path:
    """A file at ``path`` last modified ``age`` seconds ago (by the real wall clock, which is
    the one the node reads)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"left behind")
    then = time.time() - age
    os.utime(path, (then, then))
    return path


async def sweep(files: NodeFiles) -> int:
    """Run the maintenance job as the maintenance loop does."""
    (step,) = [step for name, _, step in files.jobs() if name == "sweep_stale"]
    removed = await step()
    assert isinstance(removed, int)
    return removed


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.upper().startswith("CHORDSHARE_"):
            monkeypatch.delenv(key)


@pytest.mark.usefixtures("clean_env")
def test_stale_part_age_defaults_to_a_day_and_layers_file_env_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert DEFAULT_STALE_PART_AGE == 24 * HOUR
    assert load_config().stale_part_age == DEFAULT_STALE_PART_AGE
    path = tmp_path / "node.toml"
    path.write_text("stale_part_age = 7200\n")
    assert load_config(path).stale_part_age == 7200
    monkeypatch.setenv("CHORDSHARE_STALE_PART_AGE", "3600")
    assert load_config(path).stale_part_age == 3600
    assert load_config(path, {"stale_part_age": "1800"}).stale_part_age == 1800
    with pytest.raises(ConfigError, match="flag --stale-part-age: field 'stale_part_age'"):
        load_config(path, {"stale_part_age": "10"})  # would sweep downloads between two pieces


async def test_a_node_removes_stale_partial_downloads_at_start(launch: Any) -> None:
    dirs = node_dirs()
    partial = dirs["data_dir"] / "blobs" / "partial"
    old = leftover(partial / ("ab" * 32 + ".part"), 2 * HOUR)
    young = leftover(partial / ("cd" * 32 + ".part"), HOUR / 2)

    await launch(**dirs, stale_part_age=HOUR)

    assert not old.exists()
    assert young.exists()


async def test_the_sweep_job_removes_stale_downloads_and_spools(launch: Any) -> None:
    running = await launch(stale_part_age=HOUR)
    files = files_of(running)
    data_dir = files.config.data_dir
    (interval,) = [every for name, every, _ in files.jobs() if name == "sweep_stale"]
    assert 0 < interval <= HOUR / 4
    old_spool = leftover(data_dir / SPOOL_DIR / "0a1b.upload", 2 * HOUR)
    young_spool = leftover(data_dir / SPOOL_DIR / "2c3d.upload", HOUR / 2)
    old_part = leftover(data_dir / "blobs" / "partial" / ("ef" * 32 + ".part"), 2 * HOUR)
    old_log = leftover(data_dir / "blobs" / "partial" / ("ef" * 32 + ".part.have"), 2 * HOUR)

    assert await sweep(files) == 3

    assert not old_spool.exists()
    assert not old_part.exists()
    assert not old_log.exists()
    assert young_spool.exists()


async def test_the_sweep_spares_an_upload_being_spooled(launch: Any) -> None:
    running = await launch(stale_part_age=HOUR)
    files = files_of(running)
    spool_dir = files.config.data_dir / SPOOL_DIR
    first_written = asyncio.Event()
    release = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield b"x" * 1000
        first_written.set()  # the uploader asks for more: the first block is in the spool
        await release.wait()
        yield b"y" * 1000

    upload = asyncio.create_task(files.upload("slow.bin", body()))
    await asyncio.wait_for(first_written.wait(), 10)
    (spool,) = list(spool_dir.iterdir())
    then = time.time() - 10 * HOUR  # a client stalled for hours, still connected
    os.utime(spool, (then, then))

    assert await sweep(files) == 0
    assert spool.exists()

    release.set()
    result = await asyncio.wait_for(upload, 20)
    assert result.record.manifest.size == 2000
    assert list(spool_dir.iterdir()) == []
