"""Transfer errors <-> gRPC status codes, through the shared table (see ``transfer.proto``'s
header and :mod:`chordshare.transport.ports.status`).

The server side is the node's table (:func:`chordshare.transport.grpc.status.status_for`); the
client side is the table's transfer profile, which turns back into domain errors the outcomes a
downloader or uploader must tell apart, because each asks for a different reaction:

    IntegrityError   <-> DATA_LOSS           bytes failed their hash: blame the sender
    LimitExceeded    <-> RESOURCE_EXHAUSTED  busy or too large: try later or elsewhere
    InvalidInput     <-> INVALID_ARGUMENT    the request can never succeed as sent
    NotFound         <-> NOT_FOUND           the peer does not hold that content

Everything else follows the node's table: a StorageError (or a bug) is INTERNAL without
details, another ChordshareError FAILED_PRECONDITION; on the client, the rest become
``PeerError`` subclasses.
"""

from __future__ import annotations

import grpc

from chordshare.errors import ChordshareError
from chordshare.transport.grpc.status import public_details, status_for, status_of
from chordshare.transport.ports import status as table


def transfer_status(exc: Exception) -> tuple[grpc.StatusCode, str]:
    """The status and details a transfer handler's ``exc`` is reported with."""
    code = status_for(exc)
    return code, public_details(exc, code)


def transfer_error(exc: grpc.aio.AioRpcError, address: str, method: str) -> ChordshareError:
    """The exception a failed transfer call to ``address`` raises (``raise ... from exc``)."""
    return table.transfer_error(status_of(exc.code()), exc.details() or "", address, method)
