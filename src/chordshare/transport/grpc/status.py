"""gRPC status codes <-> the project's exception tree, both directions, in one place.

Server side (:func:`status_for`): what a handler raised becomes the status the caller sees.

    InvalidInput (incl. InvalidName)   -> INVALID_ARGUMENT  the request can never succeed as sent
    NotFound                           -> NOT_FOUND
    IntegrityError                     -> DATA_LOSS         bytes that do not match their hash
    PeerError, LookupFailed            -> UNAVAILABLE       transient: this node could not reach a
                                                            third one; retrying later may work
    StorageError                       -> INTERNAL "internal error"  this node's own disk or
                                                            database failed; its message may name
                                                            local paths, so it is only logged
    any other ChordshareError          -> FAILED_PRECONDITION  this node is not in a state to
                                                            answer (config, join, transfer)
    anything else (a bug)              -> INTERNAL "internal error" (logged here, never sent)

Details sent with a ChordshareError are ``"<ExceptionClass>: <message>"``; with INTERNAL, only
:data:`INTERNAL_DETAILS`. Never a traceback.

Client side (:func:`peer_error`): what the call to a peer ended with becomes a ``PeerError``.

    DEADLINE_EXCEEDED                  -> PeerTimeout
    UNAVAILABLE, CANCELLED             -> PeerUnavailable   refused, reset, shutting down, or our
                                                            own channel closed under the call
    anything else                      -> PeerProtocolError the peer answered, but not as the
                                                            protocol says (UNIMPLEMENTED, INTERNAL,
                                                            INVALID_ARGUMENT, RESOURCE_EXHAUSTED...)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from chordshare.errors import (
    ChordshareError,
    IntegrityError,
    InvalidInput,
    LookupFailed,
    NotFound,
    PeerError,
    PeerProtocolError,
    PeerTimeout,
    PeerUnavailable,
    StorageError,
)

_SERVER_CODES: tuple[tuple[type[ChordshareError], grpc.StatusCode], ...] = (
    (InvalidInput, grpc.StatusCode.INVALID_ARGUMENT),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (IntegrityError, grpc.StatusCode.DATA_LOSS),
    (PeerError, grpc.StatusCode.UNAVAILABLE),
    (LookupFailed, grpc.StatusCode.UNAVAILABLE),
    (StorageError, grpc.StatusCode.INTERNAL),
)

INTERNAL_DETAILS = "internal error"
"""All a caller learns about a bug in a handler; the traceback goes to this node's log only."""


def status_for(exc: ChordshareError) -> grpc.StatusCode:
    """The status a handler's ``exc`` is reported with (first matching row of the table)."""
    for kind, code in _SERVER_CODES:
        if isinstance(exc, kind):
            return code
    return grpc.StatusCode.FAILED_PRECONDITION


def public_details(exc: ChordshareError, code: grpc.StatusCode) -> str:
    """What the caller may read about ``exc`` reported as ``code``."""
    if code == grpc.StatusCode.INTERNAL:
        return INTERNAL_DETAILS
    return f"{type(exc).__name__}: {exc}"


def peer_error(exc: grpc.aio.AioRpcError, address: str, method: str) -> PeerError:
    """The ``PeerError`` for a failed call of ``method`` to the peer at ``address``.

    Callers ``raise peer_error(exc, ...) from exc`` so that the gRPC error stays attached.
    """
    code = exc.code()
    details = exc.details() or ""
    text = f"{method} to {address} failed: {code.name}" + (f": {details}" if details else "")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return PeerTimeout(text)
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
        return PeerUnavailable(text)
    return PeerProtocolError(text)


@contextmanager
def calling(address: str, method: str) -> Iterator[None]:
    """Wrap one client call: the one place its failure is translated (``raise ... from exc``).
    A reply that breaks the contract (the codec raised PeerProtocolError) is named after the
    method and the peer."""
    try:
        yield
    except grpc.aio.AioRpcError as exc:
        raise peer_error(exc, address, method) from exc
    except PeerProtocolError as exc:
        raise PeerProtocolError(f"{method} reply from {address}: {exc}") from exc
