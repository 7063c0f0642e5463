"""The file half of the REST clients: :class:`FilesMethods` (mixed into :class:`NodeApi`) and
:class:`AsyncFilesMethods` (into :class:`AsyncNodeApi`).

Names are checked with :func:`chordshare.model.names.validate_name` before anything is sent
(InvalidName, as the node would answer) and travel percent-encoded as one path segment.
``put`` streams its body (bytes, a path, or blocks from an iterable) and ``content`` streams the
answer through :class:`Content`; failures, mid-stream ones included, come out as the project's
exceptions (:mod:`chordshare.client.errors`; a node's 413 is ``LimitExceeded``). Both wait up
to :data:`TRANSFER_TIMEOUT` for the node's answer by default, since the node moves the whole file
between peers before it answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import httpx

from chordshare.client.errors import decode, error_from_response, translate_transport_errors
from chordshare.client.lazy import lazy_module
from chordshare.model.limits import DEFAULT_CHUNK_BYTES
from chordshare.model.names import validate_name

REMOVAL_SECRET_HEADER = "X-Chordshare-Removal-Secret"
"""The header a removal's secret travels in (never the URL, which logs keep)."""

if TYPE_CHECKING:
    from pydantic import BaseModel

    from chordshare.api.schemas import files as wire
    from chordshare.api.schemas import search as search_wire
    from chordshare.api.schemas.files import (
        HeldFiles,
        NetworkFile,
        NetworkFileNames,
        RemovalAnswer,
        UploadAnswer,
    )
    from chordshare.api.schemas.search import SearchAnswer
else:  # loaded when first used (see chordshare.client.lazy)
    wire = lazy_module("chordshare.api.schemas.files")
    search_wire = lazy_module("chordshare.api.schemas.search")

SEARCH_PATH = "/api/v1/network/search"
"""The search route (``chordshare.api.schemas.search.SEARCH_PATH``, which ``tests/cli`` checks
it equals), spelled here so that a search is sent before the search schemas are loaded."""

TRANSFER_TIMEOUT = 600.0
"""Seconds ``put`` and ``content`` wait for the node's answer: it stores the file on its holders
(or fetches it from the providers) first; 10 minutes is a 1 GiB file at 1.7 MiB/s."""

READ_BYTES = DEFAULT_CHUNK_BYTES
"""Block size when a file is streamed from disk as an upload's body: one transfer chunk."""

Body = bytes | Path | Iterable[bytes]
"""What ``put`` uploads: the bytes, a file to stream, or blocks (e.g. a generator)."""

Progress = Callable[[int], None]
"""``on_progress(bytes_sent_so_far)``, called as the body is streamed."""

ByteRange = tuple[int, int | None]
"""(first, last) byte offsets, inclusive as in HTTP; last None for the rest of the file."""

M = TypeVar("M", bound="BaseModel")


@dataclass(frozen=True, slots=True)
class Content:
    """A file's bytes as the node streams them: ``status`` 200, or 206 for a range."""

    response: httpx.Response

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def content_hash(self) -> str:
        """The content hash (hex) of the file these bytes belong to."""
        return str(self.response.headers.get(wire.CONTENT_HASH_HEADER, ""))

    @property
    def size(self) -> int:
        """The whole file's size in bytes (not only the range's)."""
        whole = self.response.headers.get("content-range", "").rpartition("/")[2]
        return int(whole or self.response.headers.get("content-length", "0"))

    def iter_bytes(self) -> Iterator[bytes]:
        with translate_transport_errors(str(self.response.request.url)):
            yield from self.response.iter_bytes()

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        with translate_transport_errors(str(self.response.request.url)):
            async for block in self.response.aiter_bytes():
                yield block


class FilesMethods:
    """File methods of the blocking client (the host sets ``_http`` and ``base_url``)."""

    _http: httpx.Client
    base_url: str

    def _get(
        self, path: str, model: Callable[[], type[M]], params: dict[str, str | int] | None = None
    ) -> M:
        with translate_transport_errors(f"GET {self.base_url}{path}"):
            response = self._http.get(path, params=params)
        return decode(response, model())

    def files(self) -> HeldFiles:
        """``GET /api/v1/files``: the files this node shares or holds."""
        return self._get(wire.FILES_PATH, lambda: wire.HeldFiles)

    def network_file(self, name: str) -> NetworkFile:
        """``GET /api/v1/network/files/{name}``: the record(s) with their providers (NotFound
        if the network knows no such name)."""
        return self._get(wire.network_file_path(validate_name(name)), lambda: wire.NetworkFile)

    def network_files(self, after: str = "", limit: int | None = None) -> NetworkFileNames:
        """One page of the names known to the network (``after``: the last page's
        ``next_after``)."""
        return self._get(
            wire.NETWORK_FILES_PATH, lambda: wire.NetworkFileNames, _page(after, limit)
        )

    def search(self, query: str, offset: int = 0, limit: int | None = None) -> SearchAnswer:
        """``GET /api/v1/network/search``: one page of the names with every word of ``query``."""
        return self._get(
            SEARCH_PATH, lambda: search_wire.SearchAnswer, _search_page(query, offset, limit)
        )

    def put(
        self,
        name: str,
        data: Body,
        *,
        size: int | None = None,
        timeout: float | None = None,
        on_progress: Progress | None = None,
    ) -> UploadAnswer:
        """``PUT /api/v1/network/files/{name}``: upload into the network through this node; the
        answer names the holders. ``size`` is sent as Content-Length (known by itself for bytes
        and paths), so a node whose limit it exceeds refuses at once (LimitExceeded)."""
        path, headers = wire.network_file_path(validate_name(name)), _put_headers(data, size)
        with translate_transport_errors(f"PUT {self.base_url}{path}"):
            response = self._http.put(
                path,
                content=_blocks(data, on_progress),
                headers=headers,
                timeout=_long(self._http.timeout, timeout),
            )
        return decode(response, wire.UploadAnswer)

    def remove(
        self, name: str, *, content_hash: str | None = None, secret: str | None = None
    ) -> RemovalAnswer:
        """``DELETE /api/v1/network/files/{name}``: take an upload out of the network (the one
        this node accepted, or the one ``secret`` belongs to); the answer says what each holder
        did."""
        path = wire.network_file_path(validate_name(name))
        params = {} if content_hash is None else {"content_hash": content_hash}
        headers = {} if secret is None else {REMOVAL_SECRET_HEADER: secret}
        with translate_transport_errors(f"DELETE {self.base_url}{path}"):
            response = self._http.delete(path, params=params, headers=headers)
        return decode(response, wire.RemovalAnswer)

    @contextmanager
    def content(
        self,
        name: str,
        *,
        byte_range: ByteRange | None = None,
        content_hash: str | None = None,
        timeout: float | None = None,
    ) -> Iterator[Content]:
        """``GET /api/v1/network/files/{name}/content``, streamed::

        with api.content(name, byte_range=(0, 99)) as body:
            for block in body.iter_bytes(): ...

        ``content_hash`` picks one of several files published under ``name``."""
        request = _content_request(self._http, name, byte_range, content_hash, timeout)
        with translate_transport_errors(f"GET {request.url}"):
            response = self._http.send(request, stream=True)
        try:
            if not response.is_success:
                with translate_transport_errors(f"GET {request.url}"):
                    response.read()
                raise error_from_response(response)
            yield Content(response)
        finally:
            response.close()


class AsyncFilesMethods:
    """File methods of the asyncio client (the host sets ``_http`` and ``base_url``)."""

    _http: httpx.AsyncClient
    base_url: str

    async def _get(
        self, path: str, model: Callable[[], type[M]], params: dict[str, str | int] | None = None
    ) -> M:
        with translate_transport_errors(f"GET {self.base_url}{path}"):
            response = await self._http.get(path, params=params)
        return decode(response, model())

    async def files(self) -> HeldFiles:
        return await self._get(wire.FILES_PATH, lambda: wire.HeldFiles)

    async def network_file(self, name: str) -> NetworkFile:
        return await self._get(
            wire.network_file_path(validate_name(name)), lambda: wire.NetworkFile
        )

    async def network_files(self, after: str = "", limit: int | None = None) -> NetworkFileNames:
        return await self._get(
            wire.NETWORK_FILES_PATH, lambda: wire.NetworkFileNames, _page(after, limit)
        )

    async def search(self, query: str, offset: int = 0, limit: int | None = None) -> SearchAnswer:
        return await self._get(
            SEARCH_PATH, lambda: search_wire.SearchAnswer, _search_page(query, offset, limit)
        )

    async def put(
        self,
        name: str,
        data: Body | AsyncIterable[bytes],
        *,
        size: int | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (httpx's read timeout, not a deadline)
        on_progress: Progress | None = None,
    ) -> UploadAnswer:
        """As :meth:`FilesMethods.put`; ``data`` may also be an async iterable of blocks."""
        path, headers = wire.network_file_path(validate_name(name)), _put_headers(data, size)
        with translate_transport_errors(f"PUT {self.base_url}{path}"):
            response = await self._http.put(
                path,
                content=_async_blocks(data, on_progress),
                headers=headers,
                timeout=_long(self._http.timeout, timeout),
            )
        return decode(response, wire.UploadAnswer)

    @asynccontextmanager
    async def content(
        self,
        name: str,
        *,
        byte_range: ByteRange | None = None,
        content_hash: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (httpx's read timeout, not a deadline)
    ) -> AsyncIterator[Content]:
        """As :meth:`FilesMethods.content`; iterate with ``body.aiter_bytes()``."""
        request = _content_request(self._http, name, byte_range, content_hash, timeout)
        with translate_transport_errors(f"GET {request.url}"):
            response = await self._http.send(request, stream=True)
        try:
            if not response.is_success:
                with translate_transport_errors(f"GET {request.url}"):
                    await response.aread()
                raise error_from_response(response)
            yield Content(response)
        finally:
            await response.aclose()


# -- helpers ---------------------------------------------------------------------------------


def _page(after: str, limit: int | None) -> dict[str, str | int]:
    params: dict[str, str | int] = {"after": after} if after else {}
    if limit is not None:
        params["limit"] = limit
    return params


def _search_page(query: str, offset: int, limit: int | None) -> dict[str, str | int]:
    params: dict[str, str | int] = {"q": query, "offset": offset}
    if limit is not None:
        params["limit"] = limit
    return params


def _long(base: httpx.Timeout, read: float | None) -> httpx.Timeout:
    """``base`` with the read timeout of a whole-file transfer."""
    return httpx.Timeout(
        connect=base.connect, write=base.write, pool=base.pool, read=read or TRANSFER_TIMEOUT
    )


def _content_request(
    http: httpx.Client | httpx.AsyncClient,
    name: str,
    byte_range: ByteRange | None,
    content_hash: str | None,
    timeout: float | None,
) -> httpx.Request:
    headers = {}
    if byte_range is not None:
        first, last = byte_range
        headers["Range"] = f"bytes={first}-{'' if last is None else last}"
    return http.build_request(
        "GET",
        wire.content_path(validate_name(name)),
        params={"content_hash": content_hash} if content_hash else None,
        headers=headers,
        timeout=_long(http.timeout, timeout),
    )


def _put_headers(data: Body | AsyncIterable[bytes], size: int | None) -> dict[str, str]:
    if size is None and isinstance(data, bytes):
        size = len(data)
    elif size is None and isinstance(data, Path):
        size = data.stat().st_size
    return {} if size is None else {"Content-Length": str(size)}


def _blocks(data: Body, on_progress: Progress | None) -> Iterator[bytes]:
    blocks: Iterable[bytes]
    if isinstance(data, bytes):
        blocks = (data,)
    elif isinstance(data, Path):
        blocks = _read_blocks(data)
    else:
        blocks = data
    sent = 0
    for block in blocks:
        sent += len(block)
        yield block
        if on_progress is not None:
            on_progress(sent)


def _read_blocks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while block := f.read(READ_BYTES):
            yield block


async def _async_blocks(
    data: Body | AsyncIterable[bytes], on_progress: Progress | None
) -> AsyncIterator[bytes]:
    if not isinstance(data, AsyncIterable):
        blocks = _blocks(data, on_progress)  # file reads go to a worker thread
        while (block := await asyncio.to_thread(next, blocks, None)) is not None:
            yield block
        return
    sent = 0
    async for block in data:
        sent += len(block)
        yield block
        if on_progress is not None:
            on_progress(sent)
