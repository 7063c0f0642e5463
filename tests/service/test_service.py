"""NodeService in process: real gRPC and REST servers on loopback, one event loop."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Callable
from typing import Any

import pytest

from chordshare.client.rest import AsyncNodeApi
from chordshare.errors import ConfigError, JoinFailed
from chordshare.service.logs import NodeLogFilter
from chordshare.service.node_service import NodeService
from tests.service.conftest import TOKEN, config, new_host, wait_ring


async def test_ready_line_and_stop(launch: Callable[..., Any]) -> None:
    node = await launch()
    assert len(node.lines) == 1
    assert re.fullmatch(
        r"chordshare node [0-9a-f]{8} ready grpc=127\.0\.0\.\d+:\d+ "
        r"http=http://127\.0\.0\.\d+:\d+ ring=1 nodes",
        node.lines[0],
    )
    node.service.request_stop("test")
    assert await asyncio.wait_for(node.task, 10) == 0
    assert node.service.stopped.is_set()


async def test_join_then_leave_over_rest(launch: Callable[..., Any]) -> None:
    first = await launch()
    second = await launch(seeds=[first.url])
    third = await launch(seeds=[second.url, first.url])
    await wait_ring(first, 3)
    async with AsyncNodeApi(third.url, token=TOKEN) as api:
        accepted = await api.leave()
    assert accepted.status == "leaving"
    assert await asyncio.wait_for(third.task, 10) == 0
    await wait_ring(first, 2)


async def test_log_filter_gets_the_short_id() -> None:
    stamp = NodeLogFilter()
    service = NodeService(config(), announce=lambda _: None, log_filter=stamp)
    task = asyncio.create_task(service.run())
    await asyncio.wait_for(service.ready.wait(), 20)
    assert service.node is not None
    assert stamp.node == service.space.short(service.node.me.id)
    service.request_stop()
    assert await task == 0


@pytest.mark.parametrize("which", ["grpc_port", "http_port"])
async def test_port_in_use(which: str) -> None:
    host = new_host()
    with socket.socket() as holder:
        holder.bind((host, 0))
        holder.listen()
        port = holder.getsockname()[1]
        service = NodeService(config(listen_host=host, **{which: port}), announce=print)
        with pytest.raises(ConfigError, match="already in use"):
            await asyncio.wait_for(service.run(), 10)
    assert not service.ready.is_set()


async def test_unreachable_seed_gives_up() -> None:
    service = NodeService(
        config(seeds=["http://127.0.0.254:9"], join_attempts=3, join_backoff=0.05),
        announce=print,
    )
    with pytest.raises(JoinFailed, match=r"3 attempt.*127\.0\.0\.254:9"):
        await asyncio.wait_for(service.run(), 10)


async def test_seed_of_another_ring_width(launch: Callable[..., Any]) -> None:
    first = await launch()
    service = NodeService(config(seeds=[first.url], ring_bits=20), announce=print)
    with pytest.raises(ConfigError, match="ring_bits"):
        await asyncio.wait_for(service.run(), 10)


async def test_stop_while_joining_exits_cleanly() -> None:
    service = NodeService(
        config(seeds=["http://127.0.0.254:9"], join_attempts=50, join_backoff=0.2),
        announce=print,
    )
    task = asyncio.create_task(service.run())
    await asyncio.sleep(0)  # let it start
    service.request_stop("test")
    assert await asyncio.wait_for(task, 10) == 0
    assert not service.ready.is_set()
