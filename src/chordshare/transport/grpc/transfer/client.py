""":class:`GrpcTransferClient`: the real
:class:`chordshare.transport.ports.transfer.TransferClient`.

Streams go over cached channels (:class:`chordshare.transport.grpc.channels.ChannelCache`): a
node passes the cache of its :class:`GrpcPeerClient` so that ring calls and transfers to a peer
share one connection; the CLI lets the client make its own. Chunks use the hand codec of
:mod:`.codec` (zero-copy ``memoryview`` data).

Deadlines: a download stream has no overall deadline (a range of pieces takes as long as the
link needs) but fails with ``PeerTimeout`` when no chunk arrives for ``idle_timeout`` seconds
(a provider that hangs is as good as gone; the message reads as a DEADLINE_EXCEEDED's), watched
by one timer per stream (:class:`_IdleWatch`). An
upload's deadline grows with the file: ``timeout + size / MIN_UPLOAD_RATE``.

Errors go through the shared table's transfer profile (:mod:`.status`). An upload whose own chunk
source raises (the caller's disk, say) fails with that exception, as over the in-memory twin: it
is the caller's error, not the peer's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from typing import Any

import grpc

from chordshare.errors import LimitExceeded, PeerProtocolError
from chordshare.model.limits import MAX_MESSAGE_BYTES, MIN_UPLOAD_RATE
from chordshare.model.manifest import FileManifest
from chordshare.ring import IdSpace, PeerRef
from chordshare.transport.grpc.channels import ChannelCache
from chordshare.transport.grpc.generated import transfer_pb2 as pb
from chordshare.transport.grpc.options import channel_options
from chordshare.transport.grpc.ring.codec import WireCodec
from chordshare.transport.grpc.transfer.codec import (
    ADMITTED,
    DOWNLOAD_METHOD,
    REMOVAL_KEYS_METHOD,
    REMOVE_METHOD,
    UPLOAD_METHOD,
    Malformed,
    UploadItem,
    UploadResponseCodec,
    decode_chunk,
    encode_download_request,
    encode_upload_request,
)
from chordshare.transport.grpc.transfer.malloc import tune_malloc
from chordshare.transport.grpc.transfer.status import transfer_error
from chordshare.transport.ports.status import Status, peer_error
from chordshare.transport.ports.transfer import Chunk, UploadHeader

DEFAULT_IDLE_TIMEOUT = 30.0
"""Seconds without a chunk before a download stream is abandoned: far above any pause of a
healthy provider (a 1 MiB chunk from disk), short enough that a hung provider costs a retry
elsewhere rather than a stalled download."""


class GrpcTransferClient:
    """Streams pieces to and from peers over gRPC. ``await close()`` if it owns its channels."""

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        space: IdSpace | None = None,
        channels: ChannelCache | None = None,
    ) -> None:
        """``timeout``: seconds for an upload's acknowledgement on top of its transfer time.
        ``channels``: a shared cache (left open by :meth:`close`); default, a private one."""
        tune_malloc()
        self.timeout = timeout
        self.idle_timeout = idle_timeout
        self.max_message_bytes = max_message_bytes
        space = space or IdSpace()
        self._responses = UploadResponseCodec(space, WireCodec(space, PeerProtocolError))
        self._owns_channels = channels is None
        self._channels = channels or ChannelCache(channel_options(max_message_bytes))

    async def close(self) -> None:
        if self._owns_channels:
            await self._channels.close()

    def _channel(self, peer: PeerRef) -> Any:
        return self._channels.get(peer.grpc_address)

    async def download(
        self, peer: PeerRef, content_hash: bytes, first_piece: int, piece_count: int
    ) -> AsyncGenerator[Chunk, None]:
        method = self._channel(peer).unary_stream(
            DOWNLOAD_METHOD, request_serializer=None, response_deserializer=decode_chunk
        )
        call = method(encode_download_request(content_hash, first_piece, piece_count))
        idle = _IdleWatch(call, self.idle_timeout)

        def expired() -> Exception:
            return peer_error(
                Status.DEADLINE_EXCEEDED,
                f"no data for {self.idle_timeout}s",
                peer.grpc_address,
                "Download",
            )

        try:
            while True:
                idle.reading = True  # the deadline covers the read only: never the
                item = await call.read()  # consumer's work between chunks
                idle.reading = False
                if idle.expired:  # the watch cancelled the call: whatever the read returned
                    raise expired()
                if item is grpc.aio.EOF:
                    break
                if isinstance(item, Malformed):
                    raise PeerProtocolError(f"Download from {peer.grpc_address}: {item}")
                yield item
        except grpc.aio.AioRpcError as exc:
            if idle.expired:
                raise expired() from exc
            raise transfer_error(exc, peer.grpc_address, "Download") from exc
        except asyncio.CancelledError as exc:
            if not idle.expired:
                raise
            raise expired() from exc
        finally:
            idle.close()
            call.cancel()

    async def upload(
        self,
        peer: PeerRef,
        manifest: FileManifest,
        chunks: AsyncIterable[Chunk],
        removal_keys: tuple[bytes, ...] = (),
    ) -> PeerRef:
        declared = UploadHeader(manifest, removal_keys)
        header = encode_upload_request(declared)
        if len(header) > self.max_message_bytes:
            raise LimitExceeded(
                f"{manifest.name}: the upload header ({len(header)} bytes of piece hashes) does "
                f"not fit one {self.max_message_bytes}-byte message; use larger pieces"
            )

        failed: list[Exception] = []  # what the caller's own chunk source raised, if anything
        calls: list[Any] = []

        async def items() -> AsyncIterator[UploadItem]:
            yield declared
            # The body follows once the server admitted the upload, which its initial metadata
            # says; a server that refused has ended the call by then, and nothing more is sent.
            (call,) = calls
            if ADMITTED not in tuple(await call.initial_metadata() or ()):
                await call.code()  # a refusal: let its status arrive before writing ends
                return
            try:
                async for chunk in chunks:
                    yield chunk
            except Exception as exc:
                failed.append(exc)
                raise

        method = self._channel(peer).stream_unary(
            UPLOAD_METHOD, request_serializer=encode_upload_request, response_deserializer=None
        )
        deadline = self.timeout + manifest.size / MIN_UPLOAD_RATE
        try:
            calls.append(method(items(), timeout=deadline))
            reply = await calls[0]
        except grpc.aio.AioRpcError as exc:
            if failed:
                raise failed[0]  # noqa: B904  (the caller's own error, with its own cause)
            raise transfer_error(exc, peer.grpc_address, "Upload") from exc
        except asyncio.CancelledError:
            # When the request iterator raises, gRPC cancels the call and the awaiting task gets
            # a CancelledError nobody asked for: the caller's own error is the real outcome
            # (a task that is really being cancelled stays cancelled).
            task = asyncio.current_task()
            if failed and (task is None or not task.cancelling()):
                raise failed[0]  # noqa: B904
            raise
        try:
            holder, content_hash = self._responses.decode(reply)
        except Exception as exc:  # protobuf's DecodeError, or an id outside the ring
            raise PeerProtocolError(f"Upload to {peer.grpc_address}: bad reply: {exc}") from exc
        if content_hash != manifest.content_hash:
            raise PeerProtocolError(f"Upload to {peer.grpc_address}: wrong content hash in reply")
        return holder

    async def remove(self, peer: PeerRef, name: str, content_hash: bytes, secret: bytes) -> bool:
        request = pb.RemoveRequest(name=name, content_hash=content_hash, secret=secret)
        reply = await self._unary(peer, REMOVE_METHOD, "Remove", request.SerializeToString())
        try:
            return pb.RemoveResponse.FromString(reply).removed
        except Exception as exc:  # protobuf's DecodeError
            raise PeerProtocolError(f"Remove to {peer.grpc_address}: bad reply: {exc}") from exc

    async def removal_keys(
        self, peer: PeerRef, name: str, content_hash: bytes
    ) -> tuple[bytes, ...]:
        request = pb.RemovalKeysRequest(name=name, content_hash=content_hash)
        reply = await self._unary(
            peer, REMOVAL_KEYS_METHOD, "RemovalKeys", request.SerializeToString()
        )
        try:
            return tuple(pb.RemovalKeysResponse.FromString(reply).keys)
        except Exception as exc:
            raise PeerProtocolError(
                f"RemovalKeys to {peer.grpc_address}: bad reply: {exc}"
            ) from exc

    async def _unary(self, peer: PeerRef, method: str, name: str, request: bytes) -> bytes:
        call = self._channel(peer).unary_unary(
            method, request_serializer=None, response_deserializer=None
        )
        try:
            reply: bytes = await call(request, timeout=self.timeout)
        except grpc.aio.AioRpcError as exc:
            raise transfer_error(exc, peer.grpc_address, name) from exc
        return reply


class _IdleWatch:
    """Cancels a download ``call`` that has been waiting for its next chunk for ``limit``
    seconds (then :attr:`expired` is set, and the read raises ``CancelledError``).

    One timer per stream, re-armed only when it fires, instead of an ``asyncio.timeout`` around
    every read: that scheduled and cancelled a timer per 1 MiB chunk, about 2% of a receiving
    core in the profile of ``chordshare get``. The timer looks at when the read in flight began;
    time spent by the consumer between reads never counts."""

    def __init__(self, call: Any, limit: float) -> None:
        self._call = call
        self._limit = limit
        self._loop = asyncio.get_running_loop()
        self._since = self._loop.time()
        self._reading = False
        self.expired = False
        self._timer = self._loop.call_later(limit, self._check)

    @property
    def reading(self) -> bool:
        return self._reading

    @reading.setter
    def reading(self, value: bool) -> None:
        if value:
            self._since = self._loop.time()
        self._reading = value

    def _check(self) -> None:
        waited = self._loop.time() - self._since if self._reading else 0.0
        if waited >= self._limit:
            self.expired = True
            self._call.cancel()
            return
        self._timer = self._loop.call_later(self._limit - waited, self._check)

    def close(self) -> None:
        self._timer.cancel()
