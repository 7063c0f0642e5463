"""Serving a file's bytes over REST: a file this node holds, or one still arriving.

A held file (shared, or complete in the blob store) is a :class:`FileResponse`: Range, multipart
ranges, ``If-Range`` and validators as Starlette serves them. A file this node is downloading is
streamed as its pieces are verified (:func:`stream`): the response starts once the first piece it
needs is verified and then follows the download, in order, whatever order the pieces arrive in;
a single range is served the same way (206), several ranges once the whole file is here. Only
verified bytes are ever sent. If the download fails after the headers went out, the response is
cut: the server closes the connection, so the client sees a body shorter than its
``Content-Length``, and the node logs why.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import os
import re
from collections.abc import AsyncIterator
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from starlette.types import Send

from chordshare.api.errors import error_response
from chordshare.api.schemas.files import CONTENT_HASH_HEADER
from chordshare.errors import ChordshareError, InvalidInput, NotFound
from chordshare.model.held import HeldFile
from chordshare.model.manifest import FileManifest
from chordshare.node.transfer.fetch import Fetching, FetchReader

log = logging.getLogger(__name__)

SERVE_CHUNK_BYTES = 1 << 20
"""Bytes per read when serving a file: Starlette's 64 KiB default costs a worker-thread hop per
64 KiB, which caps a 64 MiB response at a few hundred MB/s; 1 MiB matches the transfer chunks.
A streamed response holds at most one such block per reader."""

MAX_RANGES = 100
"""Ranges one request may ask for (Starlette's own bound): more is a 416, not a multipart reply
of a thousand parts."""

_RANGE_SPEC = re.compile(r"(\d+)-(\d*)|-(\d+)")
_BYTES_PREFIX = "bytes="


async def serve(request: Request, held: HeldFile) -> Response:
    """The bytes of ``held`` (Range handled by Starlette once :func:`range_problem` passed)."""
    try:
        st = await asyncio.to_thread(os.stat, held.path)
    except FileNotFoundError as exc:
        raise NotFound(f"{held.manifest.name} vanished from this node") from exc
    problem = range_problem(request.headers.get("range"), st.st_size)
    if problem is not None:
        return unsatisfiable(problem, st.st_size)
    name = held.manifest.name
    return _FileResponse(
        held.path,
        stat_result=st,
        media_type=_media_type(name),
        filename=name,
        content_disposition_type="inline",
        headers={CONTENT_HASH_HEADER: held.manifest.content_hash.hex()},
    )


class _FileResponse(FileResponse):
    chunk_size = SERVE_CHUNK_BYTES


async def stream(request: Request, fetching: Fetching) -> Response:
    """The bytes of the file ``fetching`` downloads, sent as its pieces are verified. Raises
    what ended the download if it fails before the first byte (so the client gets the error's
    status); the caller checked the Range header with :func:`range_problem`."""
    manifest = fetching.manifest
    span = _span(request, manifest.size)
    if span is None:  # several ranges, or an empty file: served once the whole file is here
        return await serve(request, await fetching.result())
    start, stop, ranged = span
    reader = await fetching.reader(start // manifest.piece_size)
    if fetching.succeeded:  # finished meanwhile: served like any held file
        reader.close()
        return await serve(request, await fetching.result())
    headers = {
        "content-length": str(stop - start),
        "accept-ranges": "bytes",
        "content-disposition": _inline(manifest.name),
        CONTENT_HASH_HEADER: manifest.content_hash.hex(),
    }
    if ranged:
        headers["content-range"] = f"bytes {start}-{stop - 1}/{manifest.size}"
    return _PieceStream(
        reader,
        manifest,
        start,
        stop,
        status_code=206 if ranged else 200,
        headers=headers,
        media_type=_media_type(manifest.name),
    )


class _PieceStream(StreamingResponse):
    """Bytes ``[start, stop)`` of a file being downloaded, read through ``reader`` as their
    pieces are verified, one block of at most SERVE_CHUNK_BYTES at a time."""

    def __init__(
        self,
        reader: FetchReader,
        manifest: FileManifest,
        start: int,
        stop: int,
        *,
        status_code: int,
        headers: dict[str, str],
        media_type: str,
    ) -> None:
        self._reader = reader
        self._manifest = manifest
        self._start = self._position = start
        self._stop = stop
        super().__init__(
            self._blocks(), status_code=status_code, headers=headers, media_type=media_type
        )

    async def _blocks(self) -> AsyncIterator[bytes]:
        while self._position < self._stop:
            want = min(SERVE_CHUNK_BYTES, self._stop - self._position)
            block = await self._reader.read(self._position, want)
            self._position += len(block)
            yield block
        if (self._start, self._stop) == (0, self._manifest.size):
            # Every piece is verified: the response ends once the file is stored (moments
            # later), so a client that read the whole file finds this node holding it.
            fetching = self._reader.fetching
            await fetching.ended()
            if not fetching.succeeded:
                name = self._manifest.name
                log.warning("%s: served whole, but its download ended without storing it", name)

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        except ChordshareError as exc:
            # Returning without the body's last message makes the server close the connection:
            # the client gets fewer bytes than the Content-Length announced, never wrong ones.
            log.warning(
                "cut the response of %s after %d of %d bytes: %s",
                self._manifest.name,
                self._position - self._start,
                self._stop - self._start,
                exc,
            )
        finally:
            self._reader.close()


def _span(request: Request, size: int) -> tuple[int, int, bool] | None:
    """Bytes ``[start, stop)`` to send and whether they answer a range: the whole file, or the
    one range asked for; None for several ranges or an empty file. With ``If-Range`` the whole
    file: a file still arriving has no validator to compare with (RFC 9110 §13.1.5)."""
    header = request.headers.get("range")
    if header is None or request.headers.get("if-range") is not None:
        return (0, size, False) if size else None
    specs = header[len(_BYTES_PREFIX) :].split(",")
    if len(specs) != 1:
        return None
    match = _RANGE_SPEC.fullmatch(specs[0].strip())
    if match is None:  # pragma: no cover - range_problem rejected it already
        raise InvalidInput(f"malformed range {specs[0]!r}")
    first, last, suffix = match.groups()
    if suffix is not None:
        return max(0, size - int(suffix)), size, True
    return int(first), (min(int(last) + 1, size) if last else size), True


def range_problem(header: str | None, size: int) -> str | None:
    """Why a ``Range`` header cannot be served from ``size`` bytes, or None (no header, or every
    range in it is well formed and starts inside the file: RFC 9110 §14.1.2)."""
    if header is None:
        return None
    if not header.startswith(_BYTES_PREFIX):
        return "only byte ranges are supported (Range: bytes=first-last)"
    specs = [s.strip() for s in header[len(_BYTES_PREFIX) :].split(",")]
    if len(specs) > MAX_RANGES:
        return f"{len(specs)} ranges, at most {MAX_RANGES} allowed"
    for spec in specs:
        match = _RANGE_SPEC.fullmatch(spec)
        if match is None:
            return f"malformed range {spec!r}"
        first, last, suffix = match.groups()
        if suffix is not None:
            if int(suffix) == 0 or size == 0:
                return f"range {spec!r} selects no bytes of a {size}-byte file"
        elif int(first) >= size:
            return f"range {spec!r} starts at or after the end of a {size}-byte file"
        elif last and int(last) < int(first):
            return f"range {spec!r} ends before it starts"
    return None


def unsatisfiable(problem: str, size: int) -> Response:
    response = error_response(416, problem, InvalidInput.__name__)
    response.headers["Content-Range"] = f"bytes */{size}"
    return response


def _media_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _inline(name: str) -> str:
    """``Content-Disposition`` as Starlette's FileResponse writes it for a held file."""
    quoted = quote(name)
    if quoted != name:
        return f"inline; filename*=utf-8''{quoted}"
    return f'inline; filename="{name}"'
