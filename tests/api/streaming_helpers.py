"""For the tests of streamed downloads: a provider whose piece stream waits at a gate, and a real
HTTP server in front of a node's app.

The gate lets a test hold a download mid-way, deterministically: the chunks of the pieces it
holds are not sent until the test releases it. The server is uvicorn on loopback because
httpx's ``ASGITransport`` collects a whole response before returning it: it can show neither
bytes arriving before the end nor a response cut after its headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncGenerator, AsyncIterator, Generator
from dataclasses import dataclass

import httpx
import uvicorn
from fastapi import FastAPI

from chordshare.model.manifest import FileManifest
from chordshare.ring import PeerRef
from chordshare.transport.ports.transfer import Chunk, TransferService
from tests.api.files_helpers import FilesRing, Member

WITHIN = 10.0
"""Seconds any one step of a streaming test may take before it counts as hung."""


class GatedTransfer:
    """A provider's :class:`TransferService` that holds the chunks of the pieces in ``held``
    until :attr:`release` is set; :attr:`reached` is set when a stream first waits there."""

    def __init__(self, inner: TransferService, held: range) -> None:
        self.inner = inner
        self.held = held
        self.release = asyncio.Event()
        self.reached = asyncio.Event()

    async def download(
        self, content_hash: bytes, first_piece: int, piece_count: int, *, peer: str
    ) -> AsyncGenerator[Chunk, None]:
        stream = self.inner.download(content_hash, first_piece, piece_count, peer=peer)
        async with contextlib.aclosing(stream):
            async for chunk in stream:
                if chunk.piece in self.held and not self.release.is_set():
                    self.reached.set()
                    await self.release.wait()
                yield chunk

    async def upload(
        self, manifest: FileManifest, chunks: AsyncIterator[Chunk], *, peer: str
    ) -> PeerRef:
        return await self.inner.upload(manifest, chunks, peer=peer)


def gate(ring: FilesRing, provider: Member, held: range) -> GatedTransfer:
    """Serve ``provider``'s transfers through a gate holding the pieces in ``held``."""
    gated = GatedTransfer(provider.files.transfer, held)
    ring.cluster.network.register(
        provider.node.me, ring=provider.node, records=provider.files.records, transfer=gated
    )
    return gated


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.listening.set()


@dataclass
class Served:
    url: str
    server: _Server

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=WITHIN)

    async def requests_done(self) -> None:
        """Wait until the server has finished every request it is handling (for a client that
        hung up: until the server noticed and ended the response)."""
        running = set(self.server.server_state.tasks)
        if running:
            _, pending = await asyncio.wait(running, timeout=WITHIN)
            assert not pending, f"{len(pending)} requests still running after {WITHIN} s"


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[Served]:
    """``app`` served over HTTP on a loopback port of its own, in this event loop."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, http="h11", lifespan="off", log_config=None, timeout_graceful_shutdown=1
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    listening = asyncio.create_task(server.listening.wait())
    await asyncio.wait({task, listening}, timeout=WITHIN, return_when=asyncio.FIRST_COMPLETED)
    listening.cancel()
    if task.done():
        task.result()
    assert server.listening.is_set(), "the test server did not start"
    try:
        yield Served(f"http://127.0.0.1:{sock.getsockname()[1]}", server)
    finally:
        server.should_exit = True
        await task
        sock.close()


async def read_at_least(chunks: AsyncIterator[bytes], size: int) -> bytes:
    """The next ``size`` bytes or more of a response body (whole network reads)."""
    got = b""
    while len(got) < size:
        got += await anext(chunks)
    return got
