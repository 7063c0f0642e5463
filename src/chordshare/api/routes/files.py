"""File routes: this node's files, the network's records and names, upload through this node
(a file's bytes fetched through this node: :mod:`chordshare.api.routes.content`).

Names arrive in the URL path, percent-encoded as one segment. They are read from the *raw* path
(ASGI ``raw_path``), not from the decoded one: decoding first would turn ``a%2Fcontent`` into
``a/content`` and a request about the name ``a/content`` into one about ``a``. Every name then
goes through :func:`chordshare.model.names.validate_name`, so separators, ``..``, absolute
paths, NUL, control characters and over-long names are a 400 with the reason. Bytes are only
ever read from paths the node's index or blob store hold, never from a path built from a name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, nullcontext
from typing import Annotated, Any
from urllib.parse import unquote_to_bytes

from fastapi import APIRouter, Header, Path, Query, Request, Response
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import ClientDisconnect

from chordshare.api.auth import WRITE_ACCESS, auth_responses
from chordshare.api.deps import ContextDep, FilesDep, NodeDep
from chordshare.api.errors import error_response, error_responses
from chordshare.api.routes import search as search_routes
from chordshare.api.schemas.files import (
    FILES_PATH,
    HEX_DIGEST_PATTERN,
    NETWORK_FILES_PATH,
    FileRecordView,
    HeldFiles,
    HeldFileView,
    NetworkFile,
    NetworkFileNames,
    RemovalAnswer,
    UploadAnswer,
    file_uri,
)
from chordshare.api.serving import serve
from chordshare.api.views import peer_view
from chordshare.errors import (
    InvalidInput,
    InvalidName,
    LimitExceeded,
    NotFound,
    PeerUnavailable,
    TransferError,
)
from chordshare.model.names import validate_name
from chordshare.model.removal import parse_secret
from chordshare.node.transfer.remove import RemovalReport
from chordshare.node.transfer.tracker import Transfer, TransferTracker
from chordshare.node.transfer.upload import UploadResult
from chordshare.ring import IdSpace
from chordshare.transport.ports.records import MAX_NAMES_PER_CALL


class _AnyText(Convertor[str]):
    """Path parameter matching any text, line breaks included (Starlette's ``path`` stops at
    ``\n``, which would turn ``line%0Abreak`` into a 404 instead of a 400 with the reason)."""

    regex = r"[\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


ANY_TEXT = "chordshare_any_text"
register_url_convertor(ANY_TEXT, _AnyText())

router = APIRouter(prefix="/api/v1", tags=["files"])

DEFAULT_PAGE = 100
"""Names per page of ``GET /api/v1/network/files`` unless asked: a screenful, one cheap call to
each node of a small ring."""

NAME_DOC = (
    "A display name (one path segment, percent-encoded; at most 255 UTF-8 bytes; no `/`, `\\`, "
    "NUL or control characters; not `.` or `..`)."
)
HASH_DOC = "Pick the variant with this content hash (hex) when two files share the name."

NamePath = Annotated[str, Path(description=NAME_DOC, examples=["holiday.jpg"])]
HashQuery = Annotated[
    str | None, Query(pattern=HEX_DIGEST_PATTERN, description=HASH_DOC, examples=["9f2c" * 16])
]
BYTES_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The file's bytes.", "content": {"application/octet-stream": {}}},
    206: {"description": "The requested range.", "content": {"application/octet-stream": {}}},
}


# -- this node's files -----------------------------------------------------------------------


@router.get(
    "/files",
    summary="Files this node shares or holds",
    description="The files of this node's shared directory (`source: shared`) and of its blob "
    "store (`source: store`: uploads it holds for the network, files it downloaded), each with "
    "the URI this node serves it at.",
    response_model=HeldFiles,
)
async def list_held_files(node: NodeDep, files: FilesDep) -> HeldFiles:
    held = [
        HeldFileView(
            name=f.manifest.name,
            size=f.manifest.size,
            piece_size=f.manifest.piece_size,
            pieces=f.manifest.pieces,
            content_hash=f.manifest.content_hash.hex(),
            uri=file_uri(node.me, f.manifest.name),
            source=f.source,
        )
        for f in files.held_files()
    ]
    return HeldFiles(node=node.space.hex(node.me.id), files=held)


@router.get(
    "/files/{name:chordshare_any_text}",
    summary="This node's copy of a file (the URI providers publish)",
    description="The bytes of a file this node shares or holds; supports `Range` (206; 416 "
    "for a range the file cannot satisfy). 404 if this node holds no such file.",
    response_class=Response,
    responses={**BYTES_RESPONSES, **error_responses(400, 404, 416, 422)},
)
async def get_held_file(
    request: Request, files: FilesDep, name: NamePath, content_hash: HashQuery = None
) -> Response:
    name = name_from_path(request, FILES_PATH)
    held = files.held_file(name, wanted_digest(content_hash))
    if held is None:
        raise NotFound(f"this node holds no file named {name!r}")
    return await serve(request, held)


# -- the network's files ---------------------------------------------------------------------


@router.get(
    "/network/files",
    summary="Names known to the network",
    description="Walks the ring (one call per node) and lists the names of live records, "
    "sorted, after `after`, at most `limit`. Page on with `after=next_after`.",
    response_model=NetworkFileNames,
    responses=error_responses(400, 422),
)
async def list_network_files(
    files: FilesDep,
    after: Annotated[str, Query(description="Names after this one (a cursor).")] = "",
    limit: Annotated[
        int, Query(ge=1, le=MAX_NAMES_PER_CALL, description="Most names per page.")
    ] = DEFAULT_PAGE,
) -> NetworkFileNames:
    if after:
        try:
            validate_name(after)
        except InvalidName as exc:
            raise InvalidName(f"after: {exc}") from exc
    names = await files.network_names(after, limit)
    return NetworkFileNames(names=names, next_after=names[-1] if len(names) == limit else None)


@router.get(
    "/network/files/{name:chordshare_any_text}",
    summary="The DHT record(s) of a name: manifest and providers",
    description="Looks up the owner of the name and reads its record (falling back to the "
    "replicas): size, piece size, content hash, piece hashes and the live providers with their "
    "gRPC addresses, URIs and expiry. 404 when the network knows no such name.",
    response_model=NetworkFile,
    responses=error_responses(400, 404, 422, 503, 504),
)
async def get_network_file(
    request: Request, node: NodeDep, files: FilesDep, name: NamePath
) -> NetworkFile:
    name = name_from_path(request, NETWORK_FILES_PATH)
    records = await files.find(name)
    if not records:
        raise NotFound(f"the network knows no file named {name!r}")
    return NetworkFile(
        name=name,
        key_id=node.space.hex(node.space.hash_key(name)),
        records=[FileRecordView.of(node.space, r) for r in records],
    )


@router.put(
    "/network/files/{name:chordshare_any_text}",
    summary="Upload a file into the network",
    description="The raw bytes are the request body (streamed; `Content-Length` optional). "
    "The node spools and hashes them, stores the file on the owner of the name and its k-1 "
    "successors (each verifies every piece and stores durably before it acknowledges) and "
    "publishes the record with them as providers. 201 with the record and the holders; 413 "
    "over the node's `max_file_bytes`; 503 when not enough holders could store it. Needs the "
    "node's API token.",
    status_code=201,
    response_model=UploadAnswer,
    responses={**error_responses(400, 413, 422, 503, 504), **auth_responses(same_site=True)},
    dependencies=WRITE_ACCESS,
)
async def put_network_file(
    request: Request, context: ContextDep, files: FilesDep, name: NamePath
) -> Response | UploadAnswer:
    name = name_from_path(request, NETWORK_FILES_PATH)
    limit = files.max_file_bytes
    declared = _content_length(request)
    if declared is not None and declared > limit:
        return too_large(name, limit)
    client = request.client.host if request.client is not None else None
    try:
        with _tracked_upload(context.transfers, name, declared, client) as transfer:
            result = await files.upload(name, _bounded_body(request, name, limit, transfer))
    except LimitExceeded:
        return too_large(name, limit)
    except ClientDisconnect as exc:
        raise InvalidInput("the client went away before the request body ended") from exc
    except TransferError as exc:
        raise PeerUnavailable(str(exc)) from exc
    return upload_answer(context.node.space, result)


@router.delete(
    "/network/files/{name:chordshare_any_text}",
    summary="Remove an upload from the network",
    description="Asks every pinned holder of the upload to drop its copy; each checks the "
    "upload's removal secret against the key it keeps, drops the copy and withdraws its "
    "provider entry. Without `X-Chordshare-Removal-Secret`, the secret this node kept when it "
    "accepted the upload is used (404 if it has none). `content_hash` chooses among several "
    "uploads under the name (409 without it). 200 with what each holder did (`complete` false "
    "when some did not answer: ask again); 403 for a secret no holder's key matches. Copies "
    "cached by readers and files other nodes share from their own directories are not theirs "
    "to remove: they lapse with their entries. Needs the node's API token.",
    response_model=RemovalAnswer,
    responses={**error_responses(400, 403, 404, 409, 422, 503), **auth_responses(same_site=True)},
    dependencies=WRITE_ACCESS,
)
async def delete_network_file(
    request: Request,
    context: ContextDep,
    files: FilesDep,
    name: NamePath,
    content_hash: Annotated[
        str | None,
        Query(pattern=HEX_DIGEST_PATTERN, description="The upload's content hash (hex)."),
    ] = None,
    secret: Annotated[
        str | None,
        Header(
            alias="X-Chordshare-Removal-Secret",
            description="The upload's removal secret (hex), as the upload answer gave it.",
        ),
    ] = None,
) -> RemovalAnswer:
    name = name_from_path(request, NETWORK_FILES_PATH)
    given = None if secret is None else parse_secret(secret)
    report = await files.remove(name, wanted_digest(content_hash), given)
    return removal_answer(context.node.space, report)


def removal_answer(space: IdSpace, report: RemovalReport) -> RemovalAnswer:
    return RemovalAnswer(
        name=report.name,
        content_hash=report.content_hash.hex(),
        removed=[peer_view(space, p) for p in report.removed],
        kept=[peer_view(space, p) for p in report.kept],
        not_held=[peer_view(space, p) for p in report.not_held],
        refused=dict(report.refused),
        unreachable=dict(report.unreachable),
        complete=report.complete,
    )


# -- helpers ---------------------------------------------------------------------------------


def name_from_path(request: Request, prefix: str, suffix: str = "") -> str:
    """The display name in ``<prefix>/<name><suffix>``, read from the raw (still percent-encoded)
    path so that an encoded ``/`` stays part of the name; raises InvalidName (400)."""
    raw = request.scope.get("raw_path")
    head = (prefix + "/").encode()
    if isinstance(raw, bytes) and raw.startswith(head):
        segment = raw.split(b"?", 1)[0][len(head) :]
        if suffix and segment.endswith(suffix.encode()):
            segment = segment[: -len(suffix)]
        try:
            name = unquote_to_bytes(segment).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidName("name is not valid UTF-8 once percent-decoded") from exc
    else:  # no raw path, or the prefix itself was encoded: trust the router's decoding
        name = str(request.path_params.get("name", ""))
    return validate_name(name)


def wanted_digest(content_hash: str | None) -> bytes | None:
    """The ``content_hash`` query parameter as bytes (the pattern made sure it is hex)."""
    return None if content_hash is None else bytes.fromhex(content_hash)


def too_large(name: str, limit: int) -> Response:
    return error_response(
        413, f"{name} is over this node's limit of {limit} bytes", LimitExceeded.__name__
    )


def _content_length(request: Request) -> int | None:
    text = request.headers.get("content-length")
    if text is None:
        return None
    if not text.isdigit():
        raise InvalidInput(f"Content-Length must be a number of bytes, got {text[:40]!r}")
    return int(text)


def _tracked_upload(
    tracker: TransferTracker | None, name: str, declared: int | None, client: str | None
) -> AbstractContextManager[Transfer | None]:
    """The upload received through this node, shown in its transfers (none without a tracker)."""
    if tracker is None:
        return nullcontext()
    return tracker.track("upload", name=name, bytes_total=declared, peer=client)


async def _bounded_body(
    request: Request, name: str, limit: int, transfer: Transfer | None = None
) -> AsyncIterator[bytes]:
    """The request body as it arrives, counted into ``transfer``; LimitExceeded as soon as it
    passes ``limit`` bytes (the rest is never read)."""
    received = 0
    async for block in request.stream():
        received += len(block)
        if received > limit:
            raise LimitExceeded(f"{name} is over this node's limit of {limit} bytes")
        if transfer is not None:
            transfer.bytes_done = received
        if block:
            yield block


def upload_answer(space: IdSpace, result: UploadResult) -> UploadAnswer:
    return UploadAnswer(
        record=FileRecordView.of(space, result.record),
        holders=[peer_view(space, h) for h in result.holders],
        failed=dict(result.failed),
        removal_secret=None if result.removal_secret is None else result.removal_secret.hex(),
    )


# The search route (its own module) is served with the file routes, under the same read rules.
router.include_router(search_routes.router)
