"""Requests that do not parse: INVALID_ARGUMENT with a fixed text, and a rate-limited warning.

gRPC's asyncio server runs a handler's request deserializer itself, before the handler and
outside every interceptor's wrapper. When it raises (a generated ``FromString`` raises
``DecodeError`` on bytes that are not the message), the server answers UNKNOWN with the
exception's class and text in the details and logs a traceback for every such call: the
protocol promises INVALID_ARGUMENT, the details leak Python internals, and a peer sending
garbage in a loop fills the log.

:class:`MalformedRequestInterceptor` fixes this once for every service on the server (the
node's own, health checking, reflection, any registered later): it gives each handler whose
deserializer is a generated message's ``FromString`` a deserializer that returns an
:class:`Undecodable` marker instead of raising, and a behaviour that aborts with
INVALID_ARGUMENT (``malformed request: not a valid <message type>``) when it meets one, for a
single request or anywhere in a request stream. The warning it logs is rate-limited per peer
(:class:`WarningLimiter`) and carries no traceback.

Handlers with a hand-written deserializer (the transfer service's codec) are left as they are:
those never raise and hand their own ``Malformed`` value to their servicer.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import grpc
from google.protobuf.message import DecodeError, Message

from chordshare.transport.grpc.interceptors import behavior_of

log = logging.getLogger(__name__)

WARNING_INTERVAL = 60.0
"""Seconds between two warnings about the same peer's malformed requests. The first one says
that a peer speaks a broken or foreign protocol, which is worth an operator's attention; a peer
doing it in a loop (a broken build, a scanner, an attacker) would otherwise write a line per
call. One a minute, with the count of the calls not logged since, says who and how often."""

UNIMPLEMENTED_DETAILS = "method not implemented"
"""What a call of a method that the servicer does not implement is told."""

MAX_TRACKED_PEERS = 1024
"""Peers whose last warning is remembered; the least recently warned about is forgotten first.
Bounds the limiter's memory when requests come from many addresses: a forgotten peer may be
warned about again before its minute is up."""


@dataclass(frozen=True, slots=True)
class Undecodable:
    """What a guarded deserializer returns for bytes that are not a valid ``message_type``."""

    message_type: str

    @property
    def details(self) -> str:
        """The status details sent to the peer: fixed text, nothing about the parser."""
        return f"malformed request: not a valid {self.message_type}"


def message_class(deserializer: Any) -> type[Message] | None:
    """The generated message class whose ``FromString`` ``deserializer`` is, else None."""
    owner = getattr(deserializer, "__self__", None)
    if isinstance(owner, type) and issubclass(owner, Message):
        return owner
    return None


def guarded(deserializer: Callable[[bytes], Any], message_type: str) -> Callable[[bytes], Any]:
    """``deserializer`` returning :class:`Undecodable` where it would raise ``DecodeError``."""
    marker = Undecodable(message_type)

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except DecodeError:
            return marker

    return deserialize


def peer_host(peer: str) -> str:
    """``ipv4:127.0.0.1:5000`` -> ``ipv4:127.0.0.1``; ``ipv6:[::1]:5000`` -> ``ipv6:[::1]``.

    Warnings are limited per host, not per connection, so that opening new connections does not
    buy a peer new log lines."""
    kind, sep, rest = peer.partition(":")
    if not sep or kind not in ("ipv4", "ipv6"):
        return peer
    host, colon, port = rest.rpartition(":")
    return f"{kind}:{host}" if colon and port.isdigit() else peer


class WarningLimiter:
    """Decides which malformed requests are logged: one per peer per ``interval`` seconds."""

    def __init__(
        self,
        interval: float = WARNING_INTERVAL,
        max_peers: int = MAX_TRACKED_PEERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_peers < 1:
            raise ValueError(f"max_peers must be at least 1, got {max_peers}")
        self.interval = interval
        self.max_peers = max_peers
        self._clock = clock
        self._peers: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def admit(self, peer: str) -> int | None:
        """None if this request of ``peer`` is not to be logged; else how many of its requests
        were not logged since the last warning about it."""
        now = self._clock()
        found = self._peers.get(peer)
        if found is not None and now - found[0] < self.interval:
            self._peers[peer] = (found[0], found[1] + 1)
            return None
        self._peers[peer] = (now, 0)
        self._peers.move_to_end(peer)
        while len(self._peers) > self.max_peers:
            self._peers.popitem(last=False)
        return found[1] if found is not None else 0

    def __len__(self) -> int:
        return len(self._peers)


Reject = Callable[[Undecodable, Any], Awaitable[NoReturn]]
"""``reject(marker, context)``: log (maybe) and abort the call with INVALID_ARGUMENT."""


class MalformedRequestInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # untyped
    """Turns requests that do not parse into INVALID_ARGUMENT, for every handler of the server
    whose deserializer is generated (see the module's docstring)."""

    def __init__(self, limiter: WarningLimiter | None = None) -> None:
        self.limiter = limiter if limiter is not None else WarningLimiter()

    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], details: Any
    ) -> Any:
        return self.guard(await continuation(details), details.method)

    def guard(self, handler: Any, method: str) -> Any:
        """``handler`` with a guarded deserializer and a behaviour that rejects the marker; the
        handler itself if it is None, has no generated deserializer or is a synchronous
        streaming one."""
        if handler is None:
            return None
        cls = message_class(handler.request_deserializer)
        behavior, factory = behavior_of(handler)
        if cls is None:
            return handler
        reject = self._rejecter(method)
        if not (inspect.iscoroutinefunction(behavior) or inspect.isasyncgenfunction(behavior)):
            if handler.request_streaming or handler.response_streaming:
                return handler  # none is registered: gRPC runs it in a thread, as it is
            wrapped = _synchronous(behavior, reject)
        elif handler.request_streaming:
            wrapped = _stream_request(behavior, reject)
        else:
            wrapped = _single_request(behavior, reject)
        return factory(
            wrapped,
            request_deserializer=guarded(handler.request_deserializer, cls.DESCRIPTOR.full_name),
            response_serializer=handler.response_serializer,
        )

    def _rejecter(self, method: str) -> Reject:
        async def reject(marker: Undecodable, context: Any) -> NoReturn:
            peer = peer_host(str(context.peer()))
            unlogged = self.limiter.admit(peer)
            if unlogged is not None:
                since = f" ({unlogged} more since the last warning)" if unlogged else ""
                log.warning(
                    "malformed %s request from %s: not a valid %s%s",
                    method,
                    peer,
                    marker.message_type,
                    since,
                )
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, marker.details)
            raise AssertionError("unreachable: abort raises")

        return reject


def _single_request(behavior: Callable[..., Any], reject: Reject) -> Callable[..., Any]:
    """A unary-request behaviour that rejects the marker before ``behavior`` sees it."""
    if inspect.isasyncgenfunction(behavior):

        async def stream(request: Any, context: Any) -> AsyncIterator[Any]:
            if isinstance(request, Undecodable):
                await reject(request, context)
            async for item in behavior(request, context):
                yield item

        return stream

    async def call(request: Any, context: Any) -> Any:
        if isinstance(request, Undecodable):
            await reject(request, context)
        return await behavior(request, context)

    return call


def _stream_request(behavior: Callable[..., Any], reject: Reject) -> Callable[..., Any]:
    """A streamed-request behaviour whose request stream rejects the marker where it comes."""

    async def checked(requests: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
        async for request in requests:
            if isinstance(request, Undecodable):
                await reject(request, context)
            yield request

    if inspect.isasyncgenfunction(behavior):

        async def stream(requests: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
            async for item in behavior(checked(requests, context), context):
                yield item

        return stream

    async def call(requests: AsyncIterator[Any], context: Any) -> Any:
        return await behavior(checked(requests, context), context)

    return call


def _synchronous(behavior: Callable[..., Any], reject: Reject) -> Callable[..., Any]:
    """A synchronous unary behaviour (the generated base class's default for a method that a
    servicer does not implement, such as health's ``List``), made ``async`` to reject the marker
    and otherwise run in the loop's executor, as gRPC runs it. Its "not implemented" becomes
    UNIMPLEMENTED without Python's exception in the details or a traceback in the log."""

    async def call(request: Any, context: Any) -> Any:
        if isinstance(request, Undecodable):
            await reject(request, context)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(None, functools.partial(behavior, request, context))
        except NotImplementedError:
            if context.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, UNIMPLEMENTED_DETAILS)
        raise AssertionError("unreachable: abort raises")

    return call
