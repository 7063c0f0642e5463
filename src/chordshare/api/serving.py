"""Serving the bytes of a file this node holds (shared, or complete in the blob store): a
:class:`FileResponse`, with Range, multipart ranges, ``If-Range`` and validators as Starlette
serves them, once :func:`range_problem` found the Range header satisfiable.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import re

from fastapi import Request, Response
from fastapi.responses import FileResponse

from chordshare.api.errors import error_response
from chordshare.api.schemas.files import CONTENT_HASH_HEADER
from chordshare.errors import InvalidInput, NotFound
from chordshare.model.held import HeldFile

SERVE_CHUNK_BYTES = 1 << 20
"""Bytes per read when serving a file: Starlette's 64 KiB default costs a worker-thread hop per
64 KiB, which caps a 64 MiB response at a few hundred MB/s; 1 MiB matches the transfer chunks."""

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
