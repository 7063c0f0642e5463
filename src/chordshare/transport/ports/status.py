"""The one error table of the node-to-node protocol, shared by every transport.

A call between nodes ends in a value or in a :class:`Status` (named and numbered as gRPC's
status codes, so the gRPC adapter maps them by name). Both transports translate through this
module: the gRPC adapter (:mod:`chordshare.transport.grpc.status`) on each side of the wire, the
in-memory twin (:mod:`chordshare.transport.memory.status`) in one step, handler exception ->
status -> caller's exception. So a node sees the same exception over either transport.

Server side (:func:`status_for`): what a handler raised becomes the status the caller sees.

    InvalidInput (incl. InvalidName)   -> INVALID_ARGUMENT    the request can never succeed as sent
    NotFound                           -> NOT_FOUND
    NotPermitted                       -> PERMISSION_DENIED   a removal with a wrong secret
    IntegrityError                     -> DATA_LOSS           bytes that do not match their hash
    LimitExceeded                      -> RESOURCE_EXHAUSTED  busy or too large: try later or
                                                              elsewhere
    PeerError, LookupFailed            -> UNAVAILABLE         transient: this node could not reach
                                                              a third one; retrying may work
    StorageError                       -> INTERNAL "internal error"  this node's own disk or
                                                              database failed; its message may name
                                                              local paths, so it is only logged
    any other ChordshareError          -> FAILED_PRECONDITION this node is not in a state to answer
                                                              (config, join, transfer)
    anything else (a bug)              -> INTERNAL "internal error"  logged by the server with its
                                                              traceback, never sent

Details sent (:func:`public_details`) with a ChordshareError are ``"<ExceptionClass>: <message>"``;
with INTERNAL, only :data:`INTERNAL_DETAILS`. Never a traceback. ``BaseException`` that is not an
``Exception`` (``asyncio.CancelledError``, ``KeyboardInterrupt``) is no handler outcome: it is
never translated.

Client side, ring and records profile (:func:`peer_error`): every failure is a ``PeerError``.

    DEADLINE_EXCEEDED                  -> PeerTimeout
    UNAVAILABLE, CANCELLED             -> PeerUnavailable     refused, reset, crashed, shutting
                                                              down, or our own call cancelled
    anything else                      -> PeerProtocolError   the peer answered, but not as the
                                                              protocol says (UNIMPLEMENTED,
                                                              INTERNAL, INVALID_ARGUMENT...)

Client side, transfer profile (:func:`transfer_error`): a downloader or uploader must tell four
outcomes apart, because each asks for a different reaction; they come back as domain errors.

    DATA_LOSS                          -> IntegrityError      blame the sender
    RESOURCE_EXHAUSTED                 -> LimitExceeded       try later or elsewhere
    INVALID_ARGUMENT                   -> InvalidInput        the request can never succeed
    NOT_FOUND                          -> NotFound            the peer does not hold that content
    PERMISSION_DENIED                  -> NotPermitted        the peer refused a removal's secret
    anything else                      -> as :func:`peer_error`

Messages name the RPC as the ``.proto`` does and the peer's address:
``"<Method> to <address> failed: <STATUS>: <details>"`` (ring, records, and transfer's
``PeerError``), ``"<Method> to <address>: <details>"`` (transfer's domain errors).
"""

from __future__ import annotations

import enum

from chordshare.errors import (
    ChordshareError,
    IntegrityError,
    InvalidInput,
    LimitExceeded,
    LookupFailed,
    NotFound,
    NotPermitted,
    PeerError,
    PeerProtocolError,
    PeerTimeout,
    PeerUnavailable,
    StorageError,
)


class Status(enum.Enum):
    """How a call that did not succeed ended: gRPC's status codes, OK left out."""

    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


INTERNAL_DETAILS = "internal error"
"""All a caller learns about a bug or a storage failure in a handler; the rest goes to the
serving node's log only."""

UNIMPLEMENTED_DETAILS = "Method not found!"
"""What a server that does not serve the asked subsystem answers (gRPC's own wording)."""

_SERVER_TABLE: tuple[tuple[type[ChordshareError], Status], ...] = (
    (InvalidInput, Status.INVALID_ARGUMENT),
    (NotFound, Status.NOT_FOUND),
    (NotPermitted, Status.PERMISSION_DENIED),
    (IntegrityError, Status.DATA_LOSS),
    (LimitExceeded, Status.RESOURCE_EXHAUSTED),
    (PeerError, Status.UNAVAILABLE),
    (LookupFailed, Status.UNAVAILABLE),
    (StorageError, Status.INTERNAL),
)

_TRANSFER_TABLE: tuple[tuple[Status, type[ChordshareError]], ...] = (
    (Status.DATA_LOSS, IntegrityError),
    (Status.RESOURCE_EXHAUSTED, LimitExceeded),
    (Status.INVALID_ARGUMENT, InvalidInput),
    (Status.NOT_FOUND, NotFound),
    (Status.PERMISSION_DENIED, NotPermitted),
)


def status_for(exc: Exception) -> Status:
    """The status a handler's ``exc`` is reported with (first matching row of the table)."""
    if not isinstance(exc, ChordshareError):
        return Status.INTERNAL
    for kind, status in _SERVER_TABLE:
        if isinstance(exc, kind):
            return status
    return Status.FAILED_PRECONDITION


def public_details(exc: Exception, status: Status) -> str:
    """What the caller may read about ``exc`` reported as ``status``."""
    if status is Status.INTERNAL or not isinstance(exc, ChordshareError):
        return INTERNAL_DETAILS
    return f"{type(exc).__name__}: {exc}"


def peer_error(status: Status, details: str, address: str, method: str) -> PeerError:
    """The ``PeerError`` a ring or records call of ``method`` to ``address`` raises when it ends
    with ``status`` (callers ``raise ... from`` the transport's own error)."""
    text = f"{method} to {address} failed: {status.name}" + (f": {details}" if details else "")
    if status is Status.DEADLINE_EXCEEDED:
        return PeerTimeout(text)
    if status in (Status.UNAVAILABLE, Status.CANCELLED):
        return PeerUnavailable(text)
    return PeerProtocolError(text)


def transfer_error(status: Status, details: str, address: str, method: str) -> ChordshareError:
    """The exception a transfer call of ``method`` to ``address`` raises when it ends with
    ``status``: one of the four domain errors above, or a ``PeerError``."""
    for code, kind in _TRANSFER_TABLE:
        if status is code:
            return kind(f"{method} to {address}: {details or status.name}")
    return peer_error(status, details, address, method)
