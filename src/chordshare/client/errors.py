"""Failures of the REST clients, translated once into the project's exception tree (DESIGN.md
§3.6); the table is in :mod:`chordshare.client.rest`. Shared by the ring and file halves of the
clients (:mod:`chordshare.client.rest`, :mod:`chordshare.client.files`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

import httpx

from chordshare.client.grpc_port import grpc_port_message, speaks_http2
from chordshare.errors import (
    ChordshareError,
    Conflict,
    IntegrityError,
    InvalidInput,
    InvalidName,
    JoinFailed,
    LimitExceeded,
    LookupFailed,
    NotFound,
    NotPermitted,
    PeerError,
    PeerProtocolError,
    PeerTimeout,
    PeerUnavailable,
    TransferError,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

REMOTE_ERRORS: Mapping[str, type[ChordshareError]] = {
    cls.__name__: cls
    for cls in (
        InvalidInput,
        InvalidName,
        NotFound,
        NotPermitted,
        Conflict,
        PeerError,
        PeerUnavailable,
        PeerTimeout,
        PeerProtocolError,
        LookupFailed,
        JoinFailed,
        TransferError,
        IntegrityError,
        LimitExceeded,
    )
}
"""Exception classes a server may name in ``ErrorBody.error`` and the client raises as such.
Local-only failures of the remote node (ConfigError, StorageError) are not re-raised as if they
were ours: they fall back to the status mapping."""

M = TypeVar("M", bound="BaseModel")


class AccessDenied(InvalidInput):
    """The node refused the request's token: ``status`` 401 (none sent), 403 (wrong, or a
    refused origin) or 429 (too many failures from this address)."""

    def __init__(self, detail: str, status: int) -> None:
        super().__init__(detail)
        self.status = status


ACCESS_STATUSES = frozenset({401, 403, 429})


class GrpcPortGiven(InvalidInput):
    """The URL names a node's gRPC port, not its REST port (the message says so)."""


@contextmanager
def translate_transport_errors(url: str) -> Iterator[None]:
    """httpx's exceptions -> chordshare's, with the URL that failed."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise PeerTimeout(f"{url}: no answer in time ({type(exc).__name__})") from exc
    except httpx.NetworkError as exc:
        raise PeerUnavailable(f"{url}: unreachable: {_describe(exc)}") from exc
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise InvalidInput(f"{url}: not a usable node URL: {exc}") from exc
    except httpx.RemoteProtocolError as exc:
        target = _plain_http_target(exc)
        if target is not None and speaks_http2(*target):
            raise GrpcPortGiven(grpc_port_message(*target)) from exc
        raise PeerProtocolError(f"{url}: {_describe(exc)}") from exc
    except httpx.HTTPError as exc:
        raise PeerProtocolError(f"{url}: {_describe(exc)}") from exc


def _plain_http_target(exc: httpx.RequestError) -> tuple[str, int] | None:
    """Host and port of the failed request when it was plain ``http://`` (gRPC over TLS
    fails the TLS handshake instead, reported as it is)."""
    try:
        request_url = exc.request.url
    except RuntimeError:  # an error raised without its request
        return None
    if request_url.scheme != "http" or not request_url.host:
        return None
    return request_url.host, request_url.port or 80


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def error_from_response(response: httpx.Response) -> ChordshareError:
    """The exception an error response stands for, carrying the server's ``detail``."""
    # pydantic and the schemas are imported once an answer is in, not before the request
    from pydantic import ValidationError

    from chordshare.api.schemas.ring import ErrorBody

    status = response.status_code
    try:
        body = ErrorBody.model_validate_json(response.content)
        detail, name = body.detail, body.error
    except ValidationError:
        detail, name = response.text[:200] or response.reason_phrase, None
    if status in ACCESS_STATUSES:
        return AccessDenied(detail, status)
    cls = REMOTE_ERRORS.get(name or "")
    if cls is None:
        if status == 404:
            cls = NotFound
        elif 400 <= status < 500 or status == 501:
            cls = InvalidInput
        elif status == 503:
            cls = PeerUnavailable
        elif status == 504:
            cls = PeerTimeout
        else:
            cls = PeerProtocolError
            detail = f"HTTP {status} from {response.request.url}: {detail}"
    return cls(detail)


def decode(response: httpx.Response, model: type[M]) -> M:
    """The answer as ``model``, or the exception an error response stands for."""
    from pydantic import ValidationError

    if not response.is_success:
        raise error_from_response(response)
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise PeerProtocolError(
            f"{response.request.url}: answer does not fit {model.__name__}: {exc}"
        ) from exc
