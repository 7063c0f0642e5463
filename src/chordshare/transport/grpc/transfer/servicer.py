"""The ``Transfer`` gRPC service: a thin adapter over a :class:`TransferService`.

Decode (with :mod:`.codec`), call the node's service, encode; errors become status codes
here (:mod:`.status`) so that the service behaves the same on any server, with or without
the ring server's interceptors. Two stream bounds apply: the service's, per connection
(``context.peer()``, ``ipv4:host:port``), and this adapter's, per remote host or certified node
(:mod:`chordshare.transport.grpc.hosts`), checked first, so that opening many connections
gains a host nothing.

Register on the node's server with :func:`transfer_registrar` (a
:data:`chordshare.transport.grpc.server.Registrar`), or on any ``grpc.aio`` server with
:func:`add_transfer_service`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar

import grpc

from chordshare.errors import ChordshareError, InvalidInput
from chordshare.ring import IdSpace
from chordshare.transport.grpc.generated import transfer_pb2 as pb
from chordshare.transport.grpc.hosts import DEFAULT_MAX_STREAMS_PER_HOST, host_key
from chordshare.transport.grpc.ring.codec import WireCodec
from chordshare.transport.grpc.transfer.codec import (
    ADMITTED,
    SERVICE_NAME,
    Malformed,
    UploadResponseCodec,
    decode_download_request,
    decode_removal_keys_request,
    decode_remove_request,
    decode_upload_request,
    encode_chunk,
)
from chordshare.transport.grpc.transfer.malloc import tune_malloc
from chordshare.transport.grpc.transfer.status import transfer_status
from chordshare.transport.ports.status import INTERNAL_DETAILS
from chordshare.transport.ports.transfer import Chunk, StreamGate, TransferService, UploadHeader

log = logging.getLogger(__name__)

_ = pb.DESCRIPTOR  # importing the module registers the service for reflection

Req = TypeVar("Req", pb.RemoveRequest, pb.RemovalKeysRequest)


class TransferServicer:
    """``Download`` and ``Upload`` handlers for one node's :class:`TransferService`."""

    def __init__(
        self,
        service: TransferService,
        space: IdSpace | None = None,
        max_streams_per_host: int = DEFAULT_MAX_STREAMS_PER_HOST,
    ) -> None:
        self.service = service
        self.hosts = StreamGate(max_streams_per_host)
        """Open streams per remote host (:func:`chordshare.transport.grpc.hosts.host_key`),
        refused over the bound before the service opens any file."""
        self.responses = UploadResponseCodec(
            space or IdSpace(), WireCodec(space or IdSpace(), InvalidInput)
        )

    async def Download(  # noqa: N802  (names are the proto's)
        self, request: pb.DownloadRequest | Malformed, context: Any
    ) -> AsyncGenerator[Chunk, None]:
        try:
            if isinstance(request, Malformed):
                raise InvalidInput(request.reason)
            with self.hosts.stream(host_key(context)):
                stream = self.service.download(
                    request.content_hash,
                    request.first_piece,
                    request.piece_count,
                    peer=context.peer(),
                )
                async for chunk in stream:
                    yield chunk
        except ChordshareError as exc:
            await _abort(context, exc)
        except grpc.aio.AbortError:
            raise
        except Exception:
            log.exception("Download failed")
            await context.abort(grpc.StatusCode.INTERNAL, INTERNAL_DETAILS)

    async def Upload(  # noqa: N802
        self, requests: AsyncIterator[UploadHeader | Chunk | Malformed], context: Any
    ) -> bytes:
        body: _Body | None = None
        first: UploadHeader | Chunk | Malformed | None = None
        try:
            first = await anext(aiter(requests), None)
            if isinstance(first, Malformed):
                raise InvalidInput(first.reason)
            if not isinstance(first, UploadHeader):
                raise InvalidInput("an Upload must start with a header")
            body = _Body(requests, context)
            manifest = first.manifest
            with self.hosts.stream(host_key(context)):
                holder = await self.service.upload(
                    manifest,
                    body.chunks(),
                    peer=context.peer(),
                    removal_keys=first.removal_keys,
                )
            return self.responses.encode(holder, manifest.content_hash)
        except ChordshareError as exc:
            if body is not None and body.started:
                await body.drain(first.manifest.size if isinstance(first, UploadHeader) else 0)
            await _abort(context, exc)
        except grpc.aio.AbortError:
            raise
        except Exception:
            log.exception("Upload failed")
            await context.abort(grpc.StatusCode.INTERNAL, INTERNAL_DETAILS)
        raise AssertionError("unreachable: abort raises")

    async def Remove(  # noqa: N802
        self, request: pb.RemoveRequest | Malformed, context: Any
    ) -> bytes:
        async def remove(r: pb.RemoveRequest) -> bytes:
            removed = await self.service.remove(r.name, r.content_hash, r.secret)
            return pb.RemoveResponse(removed=removed).SerializeToString()

        return await _unary("Remove", request, context, remove)

    async def RemovalKeys(  # noqa: N802
        self, request: pb.RemovalKeysRequest | Malformed, context: Any
    ) -> bytes:
        async def keys(r: pb.RemovalKeysRequest) -> bytes:
            found = await self.service.removal_keys(r.name, r.content_hash)
            return pb.RemovalKeysResponse(keys=list(found)).SerializeToString()

        return await _unary("RemovalKeys", request, context, keys)


async def _unary(
    method: str,
    request: Req | Malformed,
    context: Any,
    answer: Callable[[Req], Awaitable[bytes]],
) -> bytes:
    """One small unary call: a malformed request is INVALID_ARGUMENT, a domain error its
    status, a bug INTERNAL (logged, never sent)."""
    try:
        if isinstance(request, Malformed):
            raise InvalidInput(request.reason)
        return await answer(request)
    except ChordshareError as exc:
        await _abort(context, exc)
    except grpc.aio.AbortError:
        raise
    except Exception:
        log.exception("%s failed", method)
        await context.abort(grpc.StatusCode.INTERNAL, INTERNAL_DETAILS)
    raise AssertionError("unreachable: abort raises")


DRAIN_SECONDS = 5.0
"""How long a refused upload's remaining body is read (and dropped) at most before the status
goes out; see :meth:`_Body.drain`."""


class _Body:
    """The chunks of one upload, as the service reads them.

    The service asks for the first chunk only once it admitted the upload (a free stream, room
    in the store): that is when the initial metadata goes out, which tells the client to send
    the body. A refusal before it ends a call whose client has nothing in flight. A refusal
    after it (a piece failing its hash, a chunk out of place) first reads what the client still
    sends, up to the declared size and for at most :data:`DRAIN_SECONDS`: grpcio's asyncio
    client reports a write that fails as the call ends as INTERNAL, hiding the status the
    server sent, so the client must be done writing when the status arrives. Only a client that
    is still sending after that sees INTERNAL."""

    def __init__(self, requests: AsyncIterator[UploadHeader | Chunk | Malformed], context: Any):
        self.requests = requests
        self.context = context
        self.started = False

    async def chunks(self) -> AsyncIterator[Chunk]:
        await self.context.send_initial_metadata((ADMITTED,))
        self.started = True
        async for item in self.requests:
            if isinstance(item, Malformed):
                raise InvalidInput(item.reason)
            if not isinstance(item, Chunk):
                raise InvalidInput("an Upload carries one header only")
            yield item

    async def drain(self, declared: int) -> None:
        left = declared
        try:
            async with asyncio.timeout(DRAIN_SECONDS):
                async for item in self.requests:
                    left -= len(item.data) if isinstance(item, Chunk) else 0
                    if left < 0:
                        return
        except (TimeoutError, grpc.aio.AioRpcError):
            return


async def _abort(context: Any, exc: ChordshareError) -> None:
    code, details = transfer_status(exc)
    if code == grpc.StatusCode.INTERNAL:
        log.error("transfer failed: %s", exc)
    await context.abort(code, details)


def transfer_handler(servicer: TransferServicer) -> grpc.GenericRpcHandler:
    """The generic handler: chunks go through the hand codec, not the generated classes."""
    return grpc.method_handlers_generic_handler(
        SERVICE_NAME,
        {
            "Download": grpc.unary_stream_rpc_method_handler(
                servicer.Download,
                request_deserializer=decode_download_request,
                response_serializer=encode_chunk,
            ),
            "Upload": grpc.stream_unary_rpc_method_handler(
                servicer.Upload,
                request_deserializer=decode_upload_request,
                response_serializer=_identity,
            ),
            "Remove": grpc.unary_unary_rpc_method_handler(
                servicer.Remove,
                request_deserializer=decode_remove_request,
                response_serializer=_identity,
            ),
            "RemovalKeys": grpc.unary_unary_rpc_method_handler(
                servicer.RemovalKeys,
                request_deserializer=decode_removal_keys_request,
                response_serializer=_identity,
            ),
        },
    )


def _identity(message: bytes) -> bytes:
    return message


def add_transfer_service(
    server: Any,
    service: TransferService,
    space: IdSpace | None = None,
    max_streams_per_host: int = DEFAULT_MAX_STREAMS_PER_HOST,
) -> list[str]:
    """Serve ``service`` on ``server`` (a ``grpc.aio.Server`` not yet started)."""
    tune_malloc()
    servicer = TransferServicer(service, space, max_streams_per_host)
    server.add_generic_rpc_handlers((transfer_handler(servicer),))
    return [SERVICE_NAME]


def transfer_registrar(
    service: TransferService, space: IdSpace | None = None
) -> Callable[[Any], Iterable[str]]:
    """A registrar for :meth:`chordshare.transport.grpc.server.GrpcServer.add_servicer`."""
    return lambda server: add_transfer_service(server, service, space)
