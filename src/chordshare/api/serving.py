"""Serving a file's bytes over REST: a file this node holds, or one still arriving.

A held file (shared, or complete in the blob store) is a :class:`FileResponse`: Range, multipart
ranges, ``If-Range`` and validators as Starlette serves them. A file this node is downloading is
streamed as its pieces are verified (:func:`stream`): the response starts once the first piece it
needs is verified and then follows the download, in order, whatever order the pieces arrive in;
a single range is served the same way (206), several ranges once the whole file is here. Only
verified bytes are ever sent. If the download fails after the headers went out, the response is
cut: the server closes the connection, so the client sees a body shorter than its
``Content-Length``, and the node logs why.

Every byte response, and every 416, is inert (:func:`inert_headers`): an attachment with an RFC
6266 file name, ``nosniff``, a sandboxing CSP, and a Content-Type from a short list of passive
types, else ``application/octet-stream``. A file shared or uploaded by anyone is served from the
node's own origin: an HTML page or an SVG with a script must be downloaded, never run there.

Range headers (:func:`parse_ranges`) are parsed here, once, for both paths (Starlette's own
parser is replaced by it). Malformed ones are refused with 416, as before (RFC 9110 §14.2 lets a
server ignore or reject an invalid ranges-specifier; refusing tells the client why). Numbers are
never converted past :data:`MAX_RANGE_DIGITS` digits: a longer one is larger than any file, so
it means what RFC 9110 says (a first byte past the end: 416; a last byte or a suffix length past
the end: the rest of the file). More than :data:`MAX_RANGES` ranges: 416.
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

MAX_RANGE_DIGITS = 19
"""Digits of a Range number that are read (leading zeros aside): 19 reach past 2^63, more than
any file's size. A longer number is taken as "beyond any file" without converting it (Python
refuses to convert a few thousand digits, which was a 500)."""

MAX_RANGES = 16
"""Ranges one request may ask for: more is a 416, not a multipart reply of a thousand parts
(RFC 9110 §14.2 lets a server reject many small ranges as a likely denial of service)."""

SAFE_MEDIA_TYPES = frozenset(
    {
        "text/plain",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "audio/mpeg",
        "audio/ogg",
        "audio/flac",
        "video/mp4",
        "video/webm",
        "application/zip",
        "application/gzip",
    }
)
"""Content-Types kept when guessed from a file's name: passive formats a browser renders (if at
all) without running anything. Every other name is served as application/octet-stream."""

CONTENT_SECURITY_POLICY = "default-src 'none'; sandbox"
"""No scripts, styles, frames or fetches, and an opaque origin: even a browser that renders a
served file anyway cannot run it on the node's origin."""

_RANGE_SPEC = re.compile(r"([0-9]+)-([0-9]*)|-([0-9]+)")
_BEYOND: int = 10**MAX_RANGE_DIGITS
"""What a number of more than MAX_RANGE_DIGITS digits counts as: more than any file's size."""


class RangeProblem(Exception):
    """Why a Range header cannot be served (the detail of the 416)."""


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
        media_type=media_type(name),
        headers={**inert_headers(name), CONTENT_HASH_HEADER: held.manifest.content_hash.hex()},
    )


class _FileResponse(FileResponse):
    chunk_size = SERVE_CHUNK_BYTES
    max_ranges = MAX_RANGES

    @classmethod
    def _parse_ranges(cls, range_: str, file_size: int) -> list[tuple[int, int]]:
        """Starlette's range parsing, replaced by :func:`parse_ranges` (which :func:`serve`
        already ran on this header: it cannot fail here)."""
        try:
            return parse_ranges("bytes=" + range_, file_size)
        except RangeProblem:  # pragma: no cover - serve() answered 416 already
            return []


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
        **inert_headers(manifest.name),
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
        media_type=media_type(manifest.name),
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
    ranges = parse_ranges(header, size)  # range_problem passed: no RangeProblem
    if len(ranges) != 1:
        return None
    start, stop = ranges[0]
    return start, stop, True


def parse_ranges(header: str, size: int) -> list[tuple[int, int]]:
    """The byte ranges ``[start, stop)`` a ``Range`` header asks of a ``size``-byte file, in
    the header's order; raises RangeProblem unless every range is well formed and starts inside
    the file (RFC 9110 §14.1.2). Bounded work: at most MAX_RANGES ranges, each number read to at
    most MAX_RANGE_DIGITS digits."""
    unit, equals, rest = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        raise RangeProblem("only byte ranges are supported (Range: bytes=first-last)")
    if rest.count(",") >= MAX_RANGES:
        raise RangeProblem(f"{rest.count(',') + 1} ranges, at most {MAX_RANGES} allowed")
    ranges = []
    for spec in (s.strip() for s in rest.split(",")):
        match = _RANGE_SPEC.fullmatch(spec)
        if match is None:
            raise RangeProblem(f"malformed range {_clip(spec)!r}")
        first, last, suffix = match.groups()
        if suffix is not None:
            length = _number(suffix)
            if length == 0 or size == 0:
                raise RangeProblem(f"range {_clip(spec)!r} selects no bytes of a {size}-byte file")
            ranges.append((max(0, size - length), size))
            continue
        start = _number(first)
        if start >= size:
            raise RangeProblem(
                f"range {_clip(spec)!r} starts at or after the end of a {size}-byte file"
            )
        if not last:
            ranges.append((start, size))
            continue
        end = _number(last)
        if end < start:
            raise RangeProblem(f"range {_clip(spec)!r} ends before it starts")
        ranges.append((start, min(end + 1, size)))
    return ranges


def range_problem(header: str | None, size: int) -> str | None:
    """Why a ``Range`` header cannot be served from ``size`` bytes, or None (no header, or
    :func:`parse_ranges` accepts it)."""
    if header is None:
        return None
    try:
        parse_ranges(header, size)
    except RangeProblem as exc:
        return str(exc)
    return None


def unsatisfiable(problem: str, size: int) -> Response:
    response = error_response(416, problem, InvalidInput.__name__)
    response.headers["Content-Range"] = f"bytes */{size}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def inert_headers(name: str) -> dict[str, str]:
    """The headers that make a served file a download, never a page of the node's origin."""
    return {
        "content-disposition": attachment(name),
        "x-content-type-options": "nosniff",
        "content-security-policy": CONTENT_SECURITY_POLICY,
    }


def media_type(name: str) -> str:
    """The type guessed from ``name`` if it is on SAFE_MEDIA_TYPES, else octet-stream."""
    guessed = mimetypes.guess_type(name, strict=False)[0]
    return guessed if guessed in SAFE_MEDIA_TYPES else "application/octet-stream"


def attachment(name: str) -> str:
    """``Content-Disposition: attachment`` for ``name`` (RFC 6266): an ASCII ``filename`` for
    old clients (each character outside printable ASCII, and each quote, backslash or percent
    sign, replaced by ``_``), and the exact name as ``filename*``, UTF-8 percent-encoded."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _number(digits: str) -> int:
    significant = digits.lstrip("0")
    if len(significant) > MAX_RANGE_DIGITS:
        return _BEYOND
    return int(significant or "0")


def _clip(spec: str) -> str:
    """A range spec as quoted in an error detail: at most 40 characters."""
    return spec if len(spec) <= 40 else spec[:37] + "..."
