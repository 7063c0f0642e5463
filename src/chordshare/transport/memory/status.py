"""How a call's outcome reaches the caller in the in-memory twin: through the shared table.

Over gRPC a handler's exception becomes a status on the server and the status becomes an
exception on the client (:mod:`chordshare.transport.grpc.status`). The twin does both steps at
once with the same table (:mod:`chordshare.transport.ports.status`): the handler's exception ->
:func:`~chordshare.transport.ports.status.status_for` ->
:func:`~chordshare.transport.ports.status.public_details` -> the profile's client-side
exception, raised ``from`` the handler's exception so that tests can still see what happened.
Like the gRPC server, the twin logs what it does not send: a bug (any exception outside the
tree) with its traceback, a ``ChordshareError`` reported as INTERNAL (a storage failure) too.
``asyncio.CancelledError`` and other ``BaseException`` pass through untouched.

Failures of the network itself (nothing at the address, a partition, a delay past the
deadline, a subsystem the peer does not serve) are built with :func:`network_error`, so their
messages read as gRPC's: ``"<Method> to <address> failed: <STATUS>: <details>"``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from chordshare.errors import ChordshareError, PeerError
from chordshare.transport.ports.status import (
    Status,
    peer_error,
    public_details,
    status_for,
)

log = logging.getLogger(__name__)

Profile = Callable[[Status, str, str, str], ChordshareError]
"""``profile(status, details, address, method)``: the caller's exception for a call that ended
with ``status`` (:func:`~chordshare.transport.ports.status.peer_error` for ring and records,
:func:`~chordshare.transport.ports.status.transfer_error` for transfers)."""


def rpc_name(method: str) -> str:
    """The ``.proto`` name of a client method: ``find_successor_step`` -> ``FindSuccessorStep``
    (the twin counts calls by method, but names them in messages as the wire does)."""
    return "".join(part.capitalize() for part in method.split("_"))


def network_error(status: Status, details: str, address: str, method: str) -> PeerError:
    """A failure of the network or of the peer's server, not of a handler. Such statuses
    (UNAVAILABLE, DEADLINE_EXCEEDED, UNIMPLEMENTED) mean the same in every profile."""
    return peer_error(status, details, address, rpc_name(method))


def handler_error(exc: Exception, address: str, method: str, profile: Profile) -> ChordshareError:
    """What the caller raises (``from exc``) when the handler of ``method`` raised ``exc``.
    Called while ``exc`` is being handled, so that a bug is logged with its traceback."""
    status = status_for(exc)
    if not isinstance(exc, ChordshareError):
        log.exception("handler of %s at %s failed", method, address)
    elif status is Status.INTERNAL:
        log.error("handler of %s at %s failed: %s", method, address, exc, exc_info=exc)
    return profile(status, public_details(exc, status), address, rpc_name(method))


@contextmanager
def answered(address: str, method: str, profile: Profile = peer_error) -> Iterator[None]:
    """Run a handler of ``method`` served at ``address``; what it raises reaches the caller as
    it would over gRPC. Wrap the handler call only, never the twin's own work around it."""
    try:
        yield
    except Exception as exc:
        raise handler_error(exc, address, method, profile) from exc
