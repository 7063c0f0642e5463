"""Transfer errors <-> gRPC status codes, both directions (see ``transfer.proto``'s header).

The server side extends the node's table (:func:`chordshare.transport.grpc.status.status_for`)
with the one outcome a ring RPC never has; the client side turns back into domain errors the
outcomes a downloader or uploader must tell apart, because each asks for a different reaction:

    IntegrityError   <-> DATA_LOSS           bytes failed their hash: blame the sender
    LimitExceeded    <-> RESOURCE_EXHAUSTED  busy or too large: try later or elsewhere
    InvalidInput     <-> INVALID_ARGUMENT    the request can never succeed as sent
    NotFound         <-> NOT_FOUND           the peer does not hold that content

Everything else follows the node's table: a StorageError is INTERNAL without details, another
ChordshareError FAILED_PRECONDITION; on the client, the rest become ``PeerError`` subclasses.
"""

from __future__ import annotations

import grpc

from chordshare.errors import ChordshareError, IntegrityError, InvalidInput, NotFound
from chordshare.transport.grpc.status import peer_error, public_details, status_for
from chordshare.transport.ports.transfer import LimitExceeded

_CLIENT_ERRORS: tuple[tuple[grpc.StatusCode, type[ChordshareError]], ...] = (
    (grpc.StatusCode.DATA_LOSS, IntegrityError),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, LimitExceeded),
    (grpc.StatusCode.INVALID_ARGUMENT, InvalidInput),
    (grpc.StatusCode.NOT_FOUND, NotFound),
)


def transfer_status(exc: ChordshareError) -> tuple[grpc.StatusCode, str]:
    """The status and details a transfer handler's ``exc`` is reported with."""
    code = grpc.StatusCode.RESOURCE_EXHAUSTED if isinstance(exc, LimitExceeded) else status_for(exc)
    return code, public_details(exc, code)


def transfer_error(exc: grpc.aio.AioRpcError, address: str, method: str) -> ChordshareError:
    """The exception a failed transfer call to ``address`` raises (``raise ... from exc``)."""
    code = exc.code()
    for status, kind in _CLIENT_ERRORS:
        if code == status:
            return kind(f"{method} to {address}: {exc.details() or code.name}")
    return peer_error(exc, address, method)
