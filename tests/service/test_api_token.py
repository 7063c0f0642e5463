"""A real node's REST access: its token file (created 0600, reused, refused when others can read
it), writes refused to strangers and cross-site requests, the node still running after them."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from chordshare.client.errors import AccessDenied
from chordshare.client.rest import AsyncNodeApi
from chordshare.errors import ConfigError
from chordshare.service.config_rest import TOKEN_FILE
from chordshare.service.node_service import NodeService
from tests.service.conftest import TOKEN, config

FILES = "/api/v1/network/files"


async def test_token_file_is_created_private_announced_and_reused(
    launch: Callable[..., Any], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = await launch(api_token="", data_dir=data, shared_dir=tmp_path / "shared")
    path = data / TOKEN_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = path.read_text().strip()
    assert len(token) >= 40
    assert [line for line in first.lines if str(path) in line] == [
        f"REST API token (Authorization: Bearer) in {path}"
    ]
    async with AsyncNodeApi(first.url) as anyone:
        with pytest.raises(AccessDenied) as refused:
            await anyone.put("x.bin", b"stranger")
        assert refused.value.status == 401
    async with AsyncNodeApi(first.url, token=token) as owner:
        assert len((await owner.put("x.bin", b"owner")).holders) == 1
    first.service.request_stop("test: restart")
    assert await asyncio.wait_for(first.task, 10) == 0

    again = await launch(api_token="", data_dir=data, shared_dir=tmp_path / "shared")
    assert path.read_text().strip() == token
    async with AsyncNodeApi(again.url, token=token) as owner:
        assert len((await owner.put("y.bin", b"owner again")).holders) == 1


async def test_a_configured_token_writes_no_file(launch: Callable[..., Any]) -> None:
    running = await launch()
    assert not (running.service.config.data_dir / TOKEN_FILE).exists()
    assert not [line for line in running.lines if TOKEN_FILE in line]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
async def test_a_token_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    data = tmp_path / "data"
    data.mkdir()
    path = data / TOKEN_FILE
    path.write_text("leaked-token\n")
    path.chmod(mode)
    service = NodeService(config(api_token="", data_dir=data), announce=lambda _: None)
    with pytest.raises(ConfigError, match="readable by others"):
        await service.run()
    assert path.read_text() == "leaked-token\n"  # never replaced behind the owner's back


async def test_a_token_file_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    target = tmp_path / "elsewhere"
    target.write_text("someone-elses-token\n")
    target.chmod(0o600)
    (data / TOKEN_FILE).symlink_to(target)
    service = NodeService(config(api_token="", data_dir=data), announce=lambda _: None)
    with pytest.raises(ConfigError, match="symlink"):
        await service.run()


async def test_strangers_and_other_sites_cannot_command_a_real_node(
    launch: Callable[..., Any],
) -> None:
    running = await launch()
    async with httpx.AsyncClient(base_url=running.url, timeout=10) as http:
        assert (await http.post("/api/v1/leave")).status_code == 401
        form = await http.post(
            "/api/v1/leave",
            content=b"x=1",
            headers={
                "Origin": "http://evil.example",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        assert form.status_code == 415
        foreign = await http.post(
            "/api/v1/leave",
            headers={"Origin": "http://evil.example", "Authorization": f"Bearer {TOKEN}"},
        )
        assert foreign.status_code == 403
        assert (await http.put(f"{FILES}/x", content=b"junk")).status_code == 401
        assert (await http.get("/healthz")).json()["status"] == "ok"
        assert not running.service.stop_requested
        assert running.service.files is not None
        assert not running.service.files.held_files()
        own = await http.post(
            "/api/v1/leave",
            headers={"Origin": running.url, "Authorization": f"Bearer {TOKEN}"},
        )
        assert own.status_code == 202
    assert await asyncio.wait_for(running.task, 10) == 0


async def test_closed_reads_ring_joins_with_the_shared_token(launch: Callable[..., Any]) -> None:
    first = await launch(closed_reads=True)
    second = await launch(closed_reads=True, seeds=[first.url])
    async with AsyncNodeApi(second.url) as anyone:
        with pytest.raises(AccessDenied):
            await anyone.node()
        assert (await anyone.health()).status == "ok"
    async with AsyncNodeApi(second.url, token=TOKEN) as owner:
        assert (await owner.node()).successors
    assert second.service.seed_peers
