"""``GET /api/v1/network/files/{name}/content``: a file's bytes, fetched by this node.

The node serves its own copy when it holds one. Otherwise it first downloads the whole file into
its blob store (verified piece by piece, from every provider in parallel, resumable) and then
serves it from there: a Range is served from a verified copy, and this node becomes one more
provider of the file. The price is latency: the first byte leaves once the last piece has arrived
and the copy is fsynced (about half a second for 64 MiB from two providers on loopback, measured:
~130 MiB/s end to end, and ~1 GB/s once the copy is local).

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
from chordshare.api.serving import range_problem, serve, unsatisfiable
from chordshare.errors import LimitExceeded, NotFound
from chordshare.model.manifest import FileRecord

router = APIRouter(prefix="/api/v1", tags=["files"])


@router.get(
    "/network/files/{name:chordshare_any_text}/content",
    summary="A file's bytes, fetched by this node from its providers",
    description="Locates the record, downloads the file into this node's store (every piece "
    "verified, from several providers at once) unless this node already holds it, then serves "
    "it; this node becomes a provider too. Supports `Range` (206; 416 for a range the file "
    "cannot satisfy). 404: unknown name; 503: no provider could serve it.",
    response_class=Response,
    responses={**BYTES_RESPONSES, **error_responses(400, 404, 416, 422, 503, 504, 507)},
)
async def get_network_content(
    request: Request, files: FilesDep, name: NamePath, content_hash: HashQuery = None
) -> Response:
    name = name_from_path(request, NETWORK_FILES_PATH, "/content")
    wanted = wanted_digest(content_hash)
    held = files.held_file(name, wanted) if wanted is not None else None
    if held is not None:
        return await serve(request, held)
    record = _pick(name, await files.find(name), wanted)
    held = files.held_file(name, record.manifest.content_hash)
    if held is None:
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
        held = await files.fetch(record)
    return await serve(request, held)


def _pick(name: str, records: list[FileRecord], wanted: bytes | None) -> FileRecord:
    if wanted is not None:
        records = [r for r in records if r.manifest.content_hash == wanted]
    if not records:
        which = "" if wanted is None else f" with content hash {wanted.hex()}"
        raise NotFound(f"the network knows no file named {name!r}{which}")
    return records[0]
