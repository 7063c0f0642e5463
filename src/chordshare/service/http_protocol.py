"""uvicorn's HTTP/1.1 protocol (h11) with a deadline on every request head.

uvicorn bounds an idle keep-alive connection (``timeout_keep_alive``), but only once a response
is complete, and any byte received disarms it: a client that connects and sends nothing, or one
header byte a second, holds its connection (and a file descriptor) for as long as it likes. Here
a connection gets ``head_timeout`` seconds to deliver each request head: from the moment it is
made for the first request, from its first byte for the next ones on the same connection (until
then it is idle, and uvicorn's keep-alive timeout applies). A head still incomplete at the
deadline closes the connection. The request body and the response are not bounded here.

h11 refuses a head over its ``max_incomplete_event_size`` only while the head is incomplete: a
huge head arriving in one read would pass. So bytes of a head are handed to h11 in slices of
:data:`HEAD_SLICE`, and one larger than :data:`MAX_HEAD_BYTES` (give or take a slice) is a 400.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_HEAD_BYTES = 16 * 1024
"""Most bytes of a request head (request line and headers) h11 buffers: a larger head is a 400
and the connection is closed. 16 KiB holds any sane head, a bearer token included."""

HEAD_SLICE = 4 * 1024
"""Bytes handed to h11 at a time while a head is arriving (see the module's docstring)."""


class HeadTimedProtocol(H11Protocol):
    """H11Protocol closing a connection whose request head is not complete in time."""

    head_timeout: float = 10.0
    """Seconds a client may take to send a request head (set by :func:`head_timed`)."""

    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        while len(data) > HEAD_SLICE and self._reading_head():
            super().data_received(data[:HEAD_SLICE])
            data = data[HEAD_SLICE:]
        if self.transport.is_closing():
            return  # refused (h11 said 400): the rest is not read
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:
            self._arm_head_deadline()  # a head is arriving (or will): bounded from now on
        else:
            self._disarm_head_deadline()  # the head is complete

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is not h11.IDLE:
            self._disarm_head_deadline()  # a pipelined request's head was complete already

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def _reading_head(self) -> bool:
        return self.conn.their_state is h11.IDLE and not self.transport.is_closing()

    def _arm_head_deadline(self) -> None:
        if self._head_deadline is None and not self.transport.is_closing():
            self._head_deadline = self.loop.call_later(self.head_timeout, self._head_too_slow)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def head_timed(timeout: float) -> type[HeadTimedProtocol]:
    """The protocol class for a server whose clients get ``timeout`` seconds per request head
    (uvicorn takes a class, and builds one protocol per connection from it)."""

    class Protocol(HeadTimedProtocol):
        head_timeout = timeout

    return Protocol
