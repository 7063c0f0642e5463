"""Server interceptors that wrap every handler of a ``grpc.aio`` server, whatever its service.

Concerns that apply to every RPC (error translation, metrics) live here instead of in each
servicer, so the ring servicer stays thin and services added later (DHT records, file transfer)
get the same behaviour by being registered on the same :class:`GrpcServer`.

A wrapper is an async context manager entered around the handler: for a unary response around
the awaited call, for a streamed response around the whole iteration. Only ``async`` handlers
are wrapped; a synchronous handler would run in gRPC's thread pool, and chordshare registers none.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import grpc

from chordshare.errors import ChordshareError
from chordshare.transport.grpc.status import INTERNAL_DETAILS, public_details, status_for

log = logging.getLogger(__name__)

Around = Callable[[str, Any], AbstractAsyncContextManager[None]]
"""``around(method, context)``: entered while the handler of ``method`` (the full
``/package.Service/Method`` path) runs with servicer ``context``."""


def behavior_of(handler: Any) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``handler``'s behaviour (whichever of its four kinds it is) and the ``grpc`` factory that
    makes a handler of the same kind."""
    if handler.request_streaming and handler.response_streaming:
        return handler.stream_stream, grpc.stream_stream_rpc_method_handler
    if handler.request_streaming:
        return handler.stream_unary, grpc.stream_unary_rpc_method_handler
    if handler.response_streaming:
        return handler.unary_stream, grpc.unary_stream_rpc_method_handler
    return handler.unary_unary, grpc.unary_unary_rpc_method_handler


def wrap_handler(handler: Any, method: str, around: Around) -> Any:
    """``handler`` (a ``grpc.RpcMethodHandler`` or None) with its behaviour run inside
    ``around``; streaming kinds and (de)serializers are kept."""
    if handler is None:
        return None
    behavior, factory = behavior_of(handler)

    async def call(request: Any, context: Any) -> Any:
        async with around(method, context):
            return await behavior(request, context)

    async def stream(request: Any, context: Any) -> AsyncIterator[Any]:
        async with around(method, context):
            async for item in behavior(request, context):
                yield item

    if inspect.isasyncgenfunction(behavior):
        wrapped: Callable[..., Any] = stream
    elif inspect.iscoroutinefunction(behavior):
        wrapped = call
    else:
        return handler
    return factory(
        wrapped,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class WrappingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # grpc is untyped
    """A server interceptor that runs every handler inside ``around``."""

    def __init__(self, around: Around) -> None:
        self._around = around

    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], details: Any
    ) -> Any:
        return wrap_handler(await continuation(details), details.method, self._around)


@asynccontextmanager
async def translated_errors(method: str, context: Any) -> AsyncIterator[None]:
    """Translate a handler's exception into a status, once, for every service on the server.

    A ``ChordshareError`` aborts with the code of :func:`status_for` and its own message (unless
    that code is INTERNAL); any other exception is a bug: logged with its traceback and reported
    as INTERNAL without details.
    """
    try:
        yield
    except grpc.aio.AbortError:
        raise  # the handler chose its status itself
    except ChordshareError as exc:
        code = status_for(exc)
        if code == grpc.StatusCode.INTERNAL:
            log.error("handler of %s failed: %s", method, exc, exc_info=exc)
        await context.abort(code, public_details(exc, code))
    except Exception:
        log.exception("handler of %s failed", method)
        await context.abort(grpc.StatusCode.INTERNAL, INTERNAL_DETAILS)


def error_interceptor() -> WrappingInterceptor:
    """The interceptor that applies :func:`translated_errors` to every RPC."""
    return WrappingInterceptor(translated_errors)
