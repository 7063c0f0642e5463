"""The in-memory twin of the gRPC record transport (DESIGN.md principle 2).

Calls travel over a :class:`chordshare.transport.memory.network.MemoryNetwork` exactly like ring
calls: the network finds the object registered at the peer's address (failing as a network would:
unknown, crashed, partitioned, delayed) and the client awaits its :class:`RecordService`
method. A node registers one object that serves both the ring and the records, for instance a
small composite; the network does not care which.

What the remote handler raises reaches the caller as it would over gRPC
(:func:`chordshare.transport.memory.network.remote_errors`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from chordshare.model.manifest import FileRecord
from chordshare.model.records import RecordKey, RecordPage
from chordshare.ring import PeerRef
from chordshare.transport.memory.network import MemoryNetwork, remote_errors
from chordshare.transport.ports.records import RecordService


class MemoryRecordClient:
    """:class:`chordshare.transport.ports.records.RecordClient` over a :class:`MemoryNetwork`."""

    def __init__(self, network: MemoryNetwork, source: str) -> None:
        self.network = network
        self.source = source

    async def _records(self, peer: PeerRef, method: str) -> RecordService:
        service = await self.network.deliver(self.source, peer, method)
        return cast(RecordService, service)

    async def store_records(
        self, peer: PeerRef, records: Sequence[FileRecord], replicate: bool
    ) -> None:
        service = await self._records(peer, "store_records")
        with remote_errors(peer, "store_records"):
            await service.store_records(tuple(records), replicate)

    async def get_records(self, peer: PeerRef, name: str) -> list[FileRecord]:
        service = await self._records(peer, "get_records")
        with remote_errors(peer, "get_records"):
            return list(await service.get_records(name))

    async def fetch_range(
        self, peer: PeerRef, start: int, end: int, after: RecordKey | None
    ) -> RecordPage:
        service = await self._records(peer, "fetch_range")
        with remote_errors(peer, "fetch_range"):
            return await service.fetch_range(start, end, after)

    async def range_digest(self, peer: PeerRef, start: int, end: int) -> bytes:
        service = await self._records(peer, "range_digest")
        with remote_errors(peer, "range_digest"):
            return await service.range_digest(start, end)

    async def list_names(self, peer: PeerRef, after: str, limit: int) -> list[str]:
        service = await self._records(peer, "list_names")
        with remote_errors(peer, "list_names"):
            return list(await service.list_names(after, limit))
