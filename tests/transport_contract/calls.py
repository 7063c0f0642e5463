"""Every client call of the three subsystems, by the name the ``.proto`` gives its RPC (the
name both transports put in their error messages)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from chordshare.ring import PeerRef
from chordshare.transport.ports.transfer import Chunk

from .conftest import Clients
from .stubs import CANDIDATE, MANIFEST, RECORD, chunks

Call = Callable[[Clients, PeerRef], Awaitable[object]]


async def download(clients: Clients, peer: PeerRef) -> list[Chunk]:
    return [c async for c in clients.transfer.download(peer, MANIFEST.content_hash, 0, 1)]


async def upload(clients: Clients, peer: PeerRef) -> PeerRef:
    return await clients.transfer.upload(peer, MANIFEST, chunks())


RING: dict[str, Call] = {
    "GetNodeInfo": lambda c, p: c.ring.get_node_info(p),
    "FindSuccessorStep": lambda c, p: c.ring.find_successor_step(p, 5, ()),
    "Rectify": lambda c, p: c.ring.rectify(p, CANDIDATE),
    "LeaveNotice": lambda c, p: c.ring.leave_notice(p, CANDIDATE, None, ()),
    "Ping": lambda c, p: c.ring.ping(p),
}
RECORDS: dict[str, Call] = {
    "StoreRecords": lambda c, p: c.records.store_records(p, [RECORD], False),
    "GetRecords": lambda c, p: c.records.get_records(p, RECORD.name),
    "FetchRange": lambda c, p: c.records.fetch_range(p, 0, 10, None),
    "RangeDigest": lambda c, p: c.records.range_digest(p, 0, 10),
    "ListNames": lambda c, p: c.records.list_names(p, "", 10),
}
TRANSFER: dict[str, Call] = {
    "Download": download,
    "Upload": upload,
    "Remove": lambda c, p: c.transfer.remove(p, MANIFEST.name, MANIFEST.content_hash, b"s" * 32),
    "RemovalKeys": lambda c, p: c.transfer.removal_keys(p, MANIFEST.name, MANIFEST.content_hash),
}
ALL: dict[str, Call] = {**RING, **RECORDS, **TRANSFER}


def failed(method: str, peer: PeerRef, status: str) -> str:
    """How every transport's ``PeerError`` message for ``method`` to ``peer`` begins."""
    return f"{method} to {peer.grpc_address} failed: {status}"
