"""chordshare exceptions -> HTTP statuses, translated once at the REST edge (DESIGN.md §3.6).

Every error response is JSON ``{"detail": "<message>", "error": "<ExceptionClass>"}``
(:class:`~chordshare.api.schemas.ring.ErrorBody`); FastAPI's own 404/405 keep ``{"detail": ...}``.

    InvalidInput, InvalidName   400  the request can never succeed as given
    request validation          422  a parameter of the wrong type or out of its documented range
    NotPermitted                403  a removal secret that matches no upload of the file
    NotFound                    404
    Conflict                    409  a name with several candidates and nothing to choose one
    LookupFailed                503  the key's owner could not be reached (retry later)
    JoinFailed                  503
    PeerTimeout                 504  another node did not answer in time
    PeerError (other)           503  another node is down or misbehaved
    LimitExceeded               507  over a bound of this node (its cache, its file size limit)
    TransferError, Integrity    502  a peer sent bytes we could not use
    anything else               500  a bug or a local failure; the message, never a traceback
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from chordshare.api.schemas.ring import ErrorBody
from chordshare.errors import (
    ChordshareError,
    Conflict,
    InvalidInput,
    JoinFailed,
    LimitExceeded,
    LookupFailed,
    NotFound,
    NotPermitted,
    PeerError,
    PeerTimeout,
    TransferError,
)

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[ChordshareError], int] = {
    InvalidInput: 400,
    NotPermitted: 403,
    NotFound: 404,
    Conflict: 409,
    PeerTimeout: 504,
    PeerError: 503,
    LookupFailed: 503,
    JoinFailed: 503,
    LimitExceeded: 507,
    TransferError: 502,
    ChordshareError: 500,
}
"""Looked up along the exception's MRO, so the most specific class listed wins."""


def status_for(exc: ChordshareError) -> int:
    for cls in type(exc).__mro__:
        status = STATUS_BY_ERROR.get(cls)
        if status is not None:
            return status
    return 500  # pragma: no cover - ChordshareError is always in the MRO


def error_response(status: int, detail: str, error: str | None = None) -> JSONResponse:
    return JSONResponse(
        status_code=status, content=ErrorBody(detail=detail, error=error).model_dump()
    )


async def _chordshare_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ChordshareError)
    status = status_for(exc)
    if status >= 500:
        log.warning("%s %s -> %d: %s", request.method, request.url.path, status, exc)
    return error_response(status, str(exc) or type(exc).__name__, type(exc).__name__)


def describe_validation_error(exc: RequestValidationError) -> str:
    """One line per problem, e.g. ``query.limit: Input should be less than or equal to 8192``."""
    parts = []
    for problem in exc.errors():
        where = ".".join(str(p) for p in problem.get("loc", ()))
        parts.append(f"{where}: {problem.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, describe_validation_error(exc), InvalidInput.__name__)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises after this answer, and the server logs the traceback; the client only
    # learns that something broke, never the internals.
    log.error("%s %s: unhandled %s", request.method, request.url.path, type(exc).__name__)
    return error_response(500, "internal error; see the node's log", None)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ChordshareError, _chordshare_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting the error body for ``statuses``."""
    reasons = {
        400: "Invalid input (bad key, bad hex id, id outside the ring).",
        403: "Refused: the caller did not prove its right to do this.",
        404: "Not found.",
        409: "Ambiguous: several candidates, say which one.",
        422: "A parameter has the wrong type or is out of its documented range.",
        501: "Not available on this node.",
        503: "Another node could not be reached, or the lookup failed; retry later.",
        504: "Another node did not answer in time.",
    }
    return {s: {"model": ErrorBody, "description": reasons.get(s, "Error.")} for s in statuses}
