"""Reading a Server-Sent Events route of an ASGI app as it streams, without sockets.

httpx's ``ASGITransport`` returns a response only once its body is complete, which an event
stream never is; :class:`SseStream` calls the app itself, hands its body chunks to the test as
they are sent, and disconnects on exit. ``stall=True`` makes the client stop reading: the app's
``send`` never returns, as with a client whose TCP window stays closed.
"""

from __future__ import annotations

import asyncio
import json
from types import TracebackType
from typing import Any

from fastapi import FastAPI

WAIT = 5.0
"""Seconds to wait for the next chunk of a stream before the test fails."""


class SseStream:
    def __init__(
        self,
        app: FastAPI,
        path: str,
        *,
        query: str = "",
        headers: dict[str, str] | None = None,
        stall: bool = False,
    ) -> None:
        self.app = app
        self.scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
            "client": ("127.0.0.1", 50000),
            "server": ("node.test", 80),
        }
        self.stall = stall
        self.status: int | None = None
        self.response_headers: dict[str, str] = {}
        self.ended = asyncio.Event()
        self._started = asyncio.Event()
        self._chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self._buffer = ""
        self._disconnect = asyncio.Event()
        self._requested = False
        self._task: asyncio.Task[None] | None = None

    async def _receive(self) -> dict[str, Any]:
        if not self._requested:
            self._requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._disconnect.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.response_headers = {k.decode(): v.decode() for k, v in message["headers"]}
            self._started.set()
            return
        if message["type"] == "http.response.body":
            body = message.get("body", b"")
            if self.stall and body:
                await self._disconnect.wait()  # the client never reads again
                return
            if body:
                self._chunks.put_nowait(body)
            if not message.get("more_body", False):
                self.ended.set()
                self._chunks.put_nowait(b"")

    async def _run(self) -> None:
        try:
            await self.app(self.scope, self._receive, self._send)
        finally:
            self.ended.set()
            self._started.set()
            self._chunks.put_nowait(b"")

    async def __aenter__(self) -> SseStream:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._started.wait(), 5)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._disconnect.set()
        assert self._task is not None
        await asyncio.wait_for(asyncio.gather(self._task, return_exceptions=True), 5)

    async def message(self) -> dict[str, str] | None:
        """The next message's fields (``event``, ``id``, ``data``), comments skipped; ``None``
        once the stream has ended. Waits at most :data:`WAIT` seconds for a chunk."""
        while True:
            text = self._buffer.replace("\r\n", "\n")
            if "\n\n" in text:
                block, _, self._buffer = text.partition("\n\n")
                fields: dict[str, str] = {}
                for line in block.split("\n"):
                    if line.startswith(":") or not line:
                        continue
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
                if fields:
                    return fields
                continue
            chunk = await asyncio.wait_for(self._chunks.get(), WAIT)
            if not chunk:
                return None
            self._buffer = text + chunk.decode()

    async def event(self) -> dict[str, Any] | None:
        """The next event's JSON object (checked against its ``event`` and ``id`` fields)."""
        fields = await self.message()
        if fields is None:
            return None
        body: dict[str, Any] = json.loads(fields["data"])
        assert fields["event"] == body["kind"]
        assert fields["id"] == str(body["seq"])
        return body

    async def until(self, kind: str, match: Any = None) -> dict[str, Any]:
        """Read events until one of ``kind`` whose data satisfies ``match`` (a predicate)."""
        while True:
            body = await self.event()
            if body is None:
                raise AssertionError(f"the stream ended before a {kind} event")
            if body["kind"] == kind and (match is None or match(body["data"])):
                return body
