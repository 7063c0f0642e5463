"""gRPC status codes <-> the project's exception tree, through the shared table.

The table itself (which exception becomes which status, and which status becomes which
exception on the caller's side) lives in :mod:`chordshare.transport.ports.status`, shared with
the in-memory twin; its :class:`~chordshare.transport.ports.status.Status` values are named as
gRPC's codes, and this module only maps the two by name:

- server side (:func:`status_for`, :func:`public_details`): what a handler raised -> the
  ``grpc.StatusCode`` and details it is aborted with (used by the server's error interceptor);
- client side (:func:`peer_error`, :func:`calling`): what a failed ring or records call ended
  with -> a ``PeerError`` (``DEADLINE_EXCEEDED`` -> PeerTimeout; ``UNAVAILABLE``, ``CANCELLED``
  -> PeerUnavailable; anything else -> PeerProtocolError).

The transfer profile of the client side is :mod:`chordshare.transport.grpc.transfer.status`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from chordshare.errors import PeerError, PeerProtocolError
from chordshare.transport.ports import status as table
from chordshare.transport.ports.status import INTERNAL_DETAILS, Status

__all__ = [
    "INTERNAL_DETAILS",
    "calling",
    "grpc_code",
    "peer_error",
    "public_details",
    "status_for",
    "status_of",
]


def grpc_code(status: Status) -> grpc.StatusCode:
    """The gRPC code of the same name."""
    return grpc.StatusCode[status.name]


def status_of(code: grpc.StatusCode) -> Status:
    """The table's status of the same name (UNKNOWN for OK, which no failed call carries)."""
    return Status.__members__.get(code.name, Status.UNKNOWN)


def status_for(exc: Exception) -> grpc.StatusCode:
    """The code a handler's ``exc`` is reported with (see the table)."""
    return grpc_code(table.status_for(exc))


def public_details(exc: Exception, code: grpc.StatusCode) -> str:
    """What the caller may read about ``exc`` reported as ``code``."""
    return table.public_details(exc, status_of(code))


def peer_error(exc: grpc.aio.AioRpcError, address: str, method: str) -> PeerError:
    """The ``PeerError`` for a failed call of ``method`` to the peer at ``address``.

    Callers ``raise peer_error(exc, ...) from exc`` so that the gRPC error stays attached.
    """
    return table.peer_error(status_of(exc.code()), exc.details() or "", address, method)


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
