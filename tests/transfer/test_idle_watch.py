"""The download stream's idle deadline (one timer per stream): a provider that stops sending
mid-stream fails the stream as a timeout; a consumer that is slow between chunks does not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

import pytest

from chordshare.errors import PeerTimeout
from chordshare.model.manifest import FileManifest
from chordshare.node.transfer.serve import FileTransferService
from chordshare.ring import PeerRef
from chordshare.transport.grpc.transfer.client import GrpcTransferClient
from chordshare.transport.ports.transfer import Chunk

from .conftest import SMALL_PIECE, NodeFactory, data_of
from .test_multisource import manifest_of, shared_by

IDLE = 0.3


class Hanging:
    """Serves the first chunk of a stream, then sends nothing more (until cancelled)."""

    def __init__(self, inner: FileTransferService) -> None:
        self.inner = inner

    async def download(
        self, content_hash: bytes, first_piece: int, piece_count: int, *, peer: str
    ) -> AsyncGenerator[Chunk, None]:
        async for chunk in self.inner.download(content_hash, first_piece, piece_count, peer=peer):
            yield Chunk(chunk.piece, chunk.offset, bytes(chunk.data))
            await asyncio.Event().wait()

    async def upload(
        self, manifest: FileManifest, chunks: AsyncIterator[Chunk], *, peer: str
    ) -> PeerRef:
        return await self.inner.upload(manifest, chunks, peer=peer)


async def test_a_provider_that_stops_sending_times_out(grpc_nodes: NodeFactory) -> None:
    node = await grpc_nodes(wrap=Hanging)
    manifest = node.share("f.bin", data_of(4 * SMALL_PIECE), SMALL_PIECE)
    client = GrpcTransferClient(idle_timeout=IDLE)
    got: list[Chunk] = []

    async def drain() -> None:
        async for chunk in client.download(node.ref, manifest.content_hash, 0, 4):
            got.append(chunk)

    try:
        async with asyncio.timeout(IDLE * 20):
            with pytest.raises(PeerTimeout, match=f"no data for {IDLE}s"):
                await drain()
    finally:
        await client.close()
    assert len(got) == 1


async def test_a_slow_consumer_is_not_a_hung_provider(grpc_nodes: NodeFactory) -> None:
    content = data_of(3 * SMALL_PIECE, seed=7)
    (node,) = await shared_by(grpc_nodes, 1, content)
    manifest = manifest_of(node)
    client = GrpcTransferClient(idle_timeout=IDLE)
    received = bytearray()
    try:
        async for chunk in client.download(node.ref, manifest.content_hash, 0, 3):
            # the consumer's own work between chunks, longer than the idle deadline: what is
            # tested is that this time is not counted (a pause, not a wait for a condition)
            await asyncio.sleep(IDLE * 1.5)
            received += chunk.data
    finally:
        await client.close()
    assert bytes(received) == content
