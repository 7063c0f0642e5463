"""In-process NodeServices (real gRPC and REST on loopback) started in the test's event loop."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from chordshare.client.rest import AsyncNodeApi
from chordshare.service.config import NodeConfig
from chordshare.service.node_service import NodeService
from tests.conftest import FAST, node_dirs

_hosts = itertools.count()

TOKEN = "test-token-for-the-service-tests"
"""The ``api_token`` of the test nodes (``api_token=""`` gives a node its token file)."""
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def new_host() -> str:
    """A loopback address of its own per node (127.0.0.100 and up)."""
    return f"127.0.0.{100 + next(_hosts) % 100}"


def config(**values: Any) -> NodeConfig:
    return NodeConfig(
        **{
            **FAST,
            **node_dirs(),
            "listen_host": new_host(),
            "grpc_port": 0,
            "http_port": 0,
            "api_token": TOKEN,
            **values,
        }
    )


class Running:
    def __init__(self, service: NodeService, task: asyncio.Task[int], lines: list[str]) -> None:
        self.service, self.task, self.lines = service, task, lines

    @property
    def url(self) -> str:
        assert self.service.node is not None
        return self.service.node.me.http_url


@pytest.fixture
async def launch() -> AsyncIterator[Callable[..., Any]]:
    started: list[Running] = []

    async def start(http_socket: socket.socket | None = None, **values: Any) -> Running:
        lines: list[str] = []
        service = NodeService(config(**values), announce=lines.append, http_socket=http_socket)
        task = asyncio.create_task(service.run())
        waiter = asyncio.create_task(service.ready.wait())
        await asyncio.wait({task, waiter}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if task.done():
            task.result()  # raise what stopped it
        assert service.ready.is_set()
        running = Running(service, task, lines)
        started.append(running)
        return running

    yield start
    for running in started:
        running.service.request_stop("teardown")
    await asyncio.gather(*(r.task for r in started), return_exceptions=True)


async def until(
    running: Running, check: Callable[[], Awaitable[bool]], within: float, what: str
) -> None:
    """Re-check ``check`` each time ``running``'s maintenance runs a job (only maintenance and
    the background work it paces change what the checks look at), for at most ``within``
    seconds."""
    try:
        async with asyncio.timeout(within):
            while not await check():
                await running.service.maintenance_ran()
    except TimeoutError:
        raise AssertionError(f"timed out after {within} s waiting for {what}") from None


async def wait_ring(running: Running, size: int, within: float = 15) -> list[str]:
    """The ids of the ring walked from ``running`` once it is closed and has ``size`` nodes."""
    found: list[str] = []
    async with AsyncNodeApi(running.url) as api:

        async def closed() -> bool:
            walk = await api.ring()
            found[:] = [p.id for p in walk.nodes]
            return walk.closed and len(walk.nodes) == size

        await until(running, closed, within, f"a closed ring of {size}")
    return found
