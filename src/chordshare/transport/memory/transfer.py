"""The in-memory twin of the gRPC transfer transport (DESIGN.md principle 2).

Calls travel over a :class:`chordshare.transport.memory.network.MemoryNetwork` like ring calls: the
network finds what is registered at the peer's address (failing as a network would; a peer
registered without transfers answers UNIMPLEMENTED) and the client iterates its
:class:`TransferService` directly. Streams notice a crash: every chunk checks that both ends are
still up, so "a provider vanishes mid-transfer" can be tested in memory. Each chunk is copied on
the way, as the wire would: a service may reuse its buffer for the next chunk (see
:meth:`TransferService.download`), and a receiver owns what it received.

What the service raises, when a stream opens, mid-stream or at the end of an upload, reaches the
caller through the shared table's transfer profile (:mod:`chordshare.transport.memory.status`):
``NotFound``, ``InvalidInput``, ``IntegrityError`` and ``LimitExceeded`` come back as such, a
storage failure or a bug as ``PeerProtocolError`` (INTERNAL), exactly as over gRPC. An upload's
own chunk source failing is the caller's error, not the peer's: it is raised as itself.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator

from chordshare.model.manifest import FileManifest
from chordshare.ring import PeerRef
from chordshare.transport.memory.network import MemoryNetwork, unimplemented
from chordshare.transport.memory.status import answered, handler_error, network_error
from chordshare.transport.ports.status import Status, transfer_error
from chordshare.transport.ports.transfer import Chunk, TransferService


class _Interrupted:
    """Why an upload's request stream stopped on the caller's side, if it did: the caller's own
    chunk source raised, or the peer went away between chunks."""

    def __init__(self) -> None:
        self.error: Exception | None = None


class MemoryTransferClient:
    """:class:`chordshare.transport.ports.transfer.TransferClient` over a MemoryNetwork."""

    def __init__(self, network: MemoryNetwork, source: str) -> None:
        self.network = network
        self.source = source

    async def _service(self, peer: PeerRef, method: str) -> TransferService:
        service = (await self.network.deliver(self.source, peer, method)).transfer
        if service is None:
            raise unimplemented(peer, method)
        return service

    def _check_up(self, peer: PeerRef, method: str) -> None:
        if not self.network.is_up(peer.grpc_address):
            raise network_error(
                Status.UNAVAILABLE, "went away during the stream", peer.grpc_address, method
            )

    async def download(
        self, peer: PeerRef, content_hash: bytes, first_piece: int, piece_count: int
    ) -> AsyncGenerator[Chunk, None]:
        service = await self._service(peer, "download")
        address = peer.grpc_address
        with answered(address, "download", transfer_error):
            stream = service.download(content_hash, first_piece, piece_count, peer=self.source)
        try:
            while True:
                # Only the service's step is translated; the consumer's work between chunks
                # runs outside (a yield inside the block would translate what it raises).
                with answered(address, "download", transfer_error):
                    chunk = await anext(stream, None)
                if chunk is None:
                    return
                self._check_up(peer, "download")
                yield Chunk(chunk.piece, chunk.offset, bytes(chunk.data))
        finally:
            await stream.aclose()

    async def upload(
        self,
        peer: PeerRef,
        manifest: FileManifest,
        chunks: AsyncIterable[Chunk],
        removal_keys: tuple[bytes, ...] = (),
    ) -> PeerRef:
        service = await self._service(peer, "upload")
        interrupted = _Interrupted()

        async def watched() -> AsyncIterator[Chunk]:
            source = aiter(chunks)
            while True:
                try:
                    chunk = await anext(source, None)
                    if chunk is not None:
                        self._check_up(peer, "upload")
                except Exception as exc:
                    interrupted.error = exc
                    raise
                if chunk is None:
                    return
                yield Chunk(chunk.piece, chunk.offset, bytes(chunk.data))

        try:
            holder = await service.upload(
                manifest, watched(), peer=self.source, removal_keys=removal_keys
            )
        except Exception as exc:
            if interrupted.error is not None:
                # What stopped the stream on our side, whatever the service made of it (raised
                # as it is: its own cause, if any, stays attached).
                raise interrupted.error  # noqa: B904
            raise handler_error(exc, peer.grpc_address, "upload", transfer_error) from exc
        self._check_up(peer, "upload")
        return holder

    async def remove(self, peer: PeerRef, name: str, content_hash: bytes, secret: bytes) -> bool:
        service = await self._service(peer, "remove")
        with answered(peer.grpc_address, "remove", transfer_error):
            return await service.remove(name, content_hash, secret)

    async def removal_keys(
        self, peer: PeerRef, name: str, content_hash: bytes
    ) -> tuple[bytes, ...]:
        service = await self._service(peer, "removal_keys")
        with answered(peer.grpc_address, "removal_keys", transfer_error):
            return tuple(await service.removal_keys(name, content_hash))
