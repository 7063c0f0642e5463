"""The in-memory twin of the gRPC transfer transport (DESIGN.md principle 2).

Calls travel over a :class:`chordshare.transport.memory.network.MemoryNetwork` like ring calls: the
network finds the object registered at the peer's address (failing as a network would) and the
client iterates its :class:`TransferService` directly. Streams notice a crash: every chunk checks
that both ends are still up, so "a provider vanishes mid-transfer" can be tested in memory.
Each chunk is copied on the way, as the wire would: a service may reuse its buffer for the next
chunk (see :meth:`TransferService.download`), and a receiver owns what it received.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from typing import cast

from chordshare.errors import PeerUnavailable
from chordshare.model.manifest import FileManifest
from chordshare.ring import PeerRef
from chordshare.transport.memory.network import MemoryNetwork
from chordshare.transport.ports.transfer import Chunk, TransferService


class MemoryTransferClient:
    """:class:`chordshare.transport.ports.transfer.TransferClient` over a MemoryNetwork."""

    def __init__(self, network: MemoryNetwork, source: str) -> None:
        self.network = network
        self.source = source

    async def _service(self, peer: PeerRef, method: str) -> TransferService:
        return cast(TransferService, await self.network.deliver(self.source, peer, method))

    def _check_up(self, peer: PeerRef, method: str) -> None:
        if not self.network.is_up(peer.grpc_address):
            raise PeerUnavailable(f"{method}: {peer.grpc_address} went away during the stream")

    async def download(
        self, peer: PeerRef, content_hash: bytes, first_piece: int, piece_count: int
    ) -> AsyncGenerator[Chunk, None]:
        service = await self._service(peer, "download")
        stream = service.download(content_hash, first_piece, piece_count, peer=self.source)
        try:
            async for chunk in stream:
                self._check_up(peer, "download")
                yield Chunk(chunk.piece, chunk.offset, bytes(chunk.data))
        finally:
            await stream.aclose()

    async def upload(
        self, peer: PeerRef, manifest: FileManifest, chunks: AsyncIterable[Chunk]
    ) -> PeerRef:
        service = await self._service(peer, "upload")

        async def watched() -> AsyncIterator[Chunk]:
            async for chunk in chunks:
                self._check_up(peer, "upload")
                yield Chunk(chunk.piece, chunk.offset, bytes(chunk.data))

        holder = await service.upload(manifest, watched(), peer=self.source)
        self._check_up(peer, "upload")
        return holder
