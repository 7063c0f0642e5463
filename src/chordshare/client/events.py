"""A client of a node's status, transfers and event stream (``/api/v1/status``,
``/api/v1/transfers``, ``/api/v1/events``), with the REST client's helpers: the same base URL
rules, token header and translation of failures into the project's exceptions.

:meth:`NodeWatch.events` follows the Server-Sent Events stream (httpx-sse) and, when
the connection drops (or the node ends the stream, as it does for a client that fell behind),
reconnects with ``Last-Event-ID`` so that the node replays what it still keeps of what was
missed; after :data:`RECONNECTS` failed attempts in a row it gives up with the last error.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Self, TypeVar

import httpx
from httpx_sse import EventSource, SSEError

from chordshare.client.lazy import lazy_module
from chordshare.client.rest import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    auth_headers,
    decode,
    error_from_response,
    normalize_base_url,
    translate_transport_errors,
)
from chordshare.client.transports import sync_transport
from chordshare.errors import PeerError, PeerProtocolError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from chordshare.api.schemas import events as wire
    from chordshare.api.schemas.events import EventMessage, NodeStatus, TransferList
else:  # loaded once an answer is in (see chordshare.client.lazy)
    wire = lazy_module("chordshare.api.schemas.events")

M = TypeVar("M", bound="BaseModel")

RECONNECTS = 5
"""Failed connection attempts in a row before :meth:`NodeWatch.events` gives up: a node
restarting takes a few seconds, a node that is gone should be reported soon."""

RECONNECT_DELAY = 1.0
"""Seconds before each reconnection attempt (the SSE default ``retry``)."""

STREAM_READ_TIMEOUT = 45.0
"""Seconds without a byte before the stream counts as dropped: three of the node's 15 s
keep-alives missed."""


class NodeWatch:
    """Blocking client of one node's status, transfers and events."""

    def __init__(
        self,
        base_url: str,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = normalize_base_url(base_url)
        self.sleep = sleep
        self.reconnects = 0
        """Reconnections :meth:`events` made (dropped connections it recovered from)."""
        with translate_transport_errors(self.base_url):
            self._http = httpx.Client(
                base_url=self.base_url,
                timeout=timeout,
                headers=auth_headers(token),
                transport=transport
                if transport is not None
                else sync_transport(self.base_url, DEFAULT_RETRIES),
            )

    def _get(self, path: str, model: Callable[[], type[M]]) -> M:
        with translate_transport_errors(f"GET {self.base_url}{path}"):
            response = self._http.get(path)
        return decode(response, model())

    def status(self) -> NodeStatus:
        return self._get("/api/v1/status", lambda: wire.NodeStatus)

    def transfers(self) -> TransferList:
        return self._get("/api/v1/transfers", lambda: wire.TransferList)

    def events(self, since: int | None = None) -> Iterator[EventMessage]:
        """The node's events as they happen (after ``since``, if given, those it still keeps
        first), reconnecting with ``Last-Event-ID`` on a dropped connection; ends only by
        raising (after :data:`RECONNECTS` failed attempts in a row) or when the caller stops."""
        last = since
        failures = 0
        while True:
            try:
                for event in self._stream(last):
                    failures = 0
                    last = event.seq
                    yield event
                failures = 0  # the node ended the stream: follow on from where it stopped
            except PeerError:  # unreachable, timed out, cut: try again; a refusal is final
                failures += 1
                if failures >= RECONNECTS:
                    raise
            self.sleep(RECONNECT_DELAY)
            self.reconnects += 1

    def _stream(self, last: int | None) -> Iterator[EventMessage]:
        headers = {"Accept": "text/event-stream"}
        if last is not None:
            headers["Last-Event-ID"] = str(last)
        timeout = httpx.Timeout(self._http.timeout.connect, read=STREAM_READ_TIMEOUT)
        where = f"GET {self.base_url}/api/v1/events"
        with (
            translate_transport_errors(where),
            self._http.stream("GET", "/api/v1/events", headers=headers, timeout=timeout) as answer,
        ):
            if answer.status_code != 200:
                answer.read()
                raise error_from_response(answer)
            # httpx-sse parses the stream (fields, multi-line data, comments as keep-alives)
            try:
                for sse in EventSource(answer).iter_sse():
                    if sse.data:
                        yield _message(sse.data, where)
            except SSEError as exc:  # not an event stream at all (e.g. not a chordshare node)
                raise PeerProtocolError(f"{where}: {exc}") from exc

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _message(text: str, where: str) -> EventMessage:
    from pydantic import ValidationError

    try:
        return wire.EventMessage.model_validate(json.loads(text))
    except (ValueError, ValidationError) as exc:
        raise PeerProtocolError(f"{where}: an event that is not an event: {text[:80]!r}") from exc
