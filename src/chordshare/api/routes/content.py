"""``GET /api/v1/network/files/{name}/content``: a file's bytes, fetched by this node.

The node serves its own copy when it holds one. Otherwise it downloads the file into its blob
store (verified piece by piece, from every provider in parallel, resumable; one download per
content, shared by every reader and run to the end even if they all hang up, after which this
node provides the file too) and streams it meanwhile, as the pieces are verified
(:func:`chordshare.api.serving.stream`): the first byte leaves once the first piece is verified,
not once the last one is. What can be refused is refused before the download starts: an unknown
name (404), a range the file cannot satisfy (416), a file over this node's limit (507); a
download that fails before the first byte answers as before (503 when no provider could serve
it), one that fails later cuts the response.

Its router is included before :mod:`chordshare.api.routes.files`' so that ``.../content`` is
not read as a record request for a name ending in ``/content``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from chordshare.api.deps import FilesDep
from chordshare.api.errors import error_response, error_responses
from chordshare.api.routes.files import (
    BYTES_RESPONSES,
    HashQuery,
    NamePath,
    name_from_path,
    wanted_digest,
)
from chordshare.api.schemas.files import NETWORK_FILES_PATH
from chordshare.api.serving import range_problem, serve, stream, unsatisfiable
from chordshare.errors import LimitExceeded, NotFound
from chordshare.model.held import HeldFile
from chordshare.model.manifest import FileRecord
from chordshare.node.transfer.fetch import Fetching

router = APIRouter(prefix="/api/v1", tags=["files"])


@router.get(
    "/network/files/{name:chordshare_any_text}/content",
    summary="A file's bytes, fetched by this node from its providers",
    description="Locates the record and serves this node's copy if it holds one; otherwise "
    "downloads the file into its store (every piece verified, from several providers at once; "
    "this node becomes a provider too) and streams the bytes as the pieces are verified. "
    "Supports `Range` (206; 416 for a range the file cannot satisfy). 404: unknown name; 503: "
    "no provider could serve it; 409: several files share the name (listed) and this node holds "
    "none or several of them: choose with `content_hash`. A download failing after the first "
    "byte cuts the response (fewer bytes than `Content-Length`).",
    response_class=Response,
    responses={**BYTES_RESPONSES, **error_responses(400, 404, 409, 416, 422, 503, 504, 507)},
)
async def get_network_content(
    request: Request, files: FilesDep, name: NamePath, content_hash: HashQuery = None
) -> Response:
    name = name_from_path(request, NETWORK_FILES_PATH, "/content")
    wanted = wanted_digest(content_hash)
    held = files.held_file(name, wanted) if wanted is not None else None
    if held is not None:
        return await serve(request, held)
    records = await files.find(name)
    record = _pick(name, records, wanted)
    if record is None:
        mine = [r for r in records if files.held_file(name, r.manifest.content_hash)]
        if len(mine) != 1:
            return _ambiguous(name, records)
        record = mine[0]  # this node's own copy: served without a download
    source: HeldFile | Fetching | None = files.held_file(name, record.manifest.content_hash)
    if source is None:
        size = record.manifest.size
        problem = range_problem(request.headers.get("range"), size)
        if problem is not None:
            return unsatisfiable(problem, size)
        if size > files.max_file_bytes:
            return error_response(
                507,
                f"{name} is {size} bytes, over this node's limit of {files.max_file_bytes} "
                "bytes; fetch it from its providers directly",
                LimitExceeded.__name__,
            )
        source = files.fetching(record)
    if isinstance(source, HeldFile):
        return await serve(request, source)
    return await stream(request, source)


def _pick(name: str, records: list[FileRecord], wanted: bytes | None) -> FileRecord | None:
    """The variant to serve: the one with content hash ``wanted``; else the only one; else the
    only one this node holds itself; else ``None`` (the caller must choose: never a silent
    pick between two contents)."""
    if wanted is not None:
        records = [r for r in records if r.manifest.content_hash == wanted]
    if not records:
        which = "" if wanted is None else f" with content hash {wanted.hex()}"
        raise NotFound(f"the network knows no file named {name!r}{which}")
    if len(records) == 1:
        return records[0]
    return None


def _ambiguous(name: str, records: list[FileRecord]) -> Response:
    listed = "; ".join(
        f"{r.manifest.content_hash.hex()} ({r.manifest.size} bytes, {len(r.providers)} providers)"
        for r in records
    )
    return error_response(
        409,
        f"{len(records)} different files are named {name!r}: {listed}. Choose one with "
        "?content_hash=HASH",
        "AmbiguousName",
    )
