"""The in-memory twin of the gRPC record transport (DESIGN.md principle 2).

Calls travel over a :class:`chordshare.transport.memory.network.MemoryNetwork` exactly like ring
calls: the network finds what is registered at the peer's address (failing as a network would:
unknown, crashed, partitioned, delayed) and the client awaits its :class:`RecordService` method.
A peer registered without records answers as a gRPC server without the Records servicer:
UNIMPLEMENTED, a ``PeerProtocolError``.

What the remote handler raises reaches the caller through the shared table's ring and records
profile (:mod:`chordshare.transport.memory.status`), as it would over gRPC: a refusal or a
storage failure is a ``PeerProtocolError``, a peer that could not reach a third node a
``PeerUnavailable``.
"""

from __future__ import annotations

from collections.abc import Sequence

from chordshare.model.manifest import FileRecord
from chordshare.model.records import RecordKey, RecordPage
from chordshare.ring import PeerRef
from chordshare.transport.memory.network import MemoryNetwork, unimplemented
from chordshare.transport.memory.status import answered
from chordshare.transport.ports.records import RecordService


class MemoryRecordClient:
    """:class:`chordshare.transport.ports.records.RecordClient` over a :class:`MemoryNetwork`."""

    def __init__(self, network: MemoryNetwork, source: str) -> None:
        self.network = network
        self.source = source

    async def _records(self, peer: PeerRef, method: str) -> RecordService:
        service = (await self.network.deliver(self.source, peer, method)).records
        if service is None:
            raise unimplemented(peer, method)
        return service

    async def store_records(
        self, peer: PeerRef, records: Sequence[FileRecord], replicate: bool
    ) -> None:
        service = await self._records(peer, "store_records")
        with answered(peer.grpc_address, "store_records"):
            await service.store_records(tuple(records), replicate)

    async def get_records(self, peer: PeerRef, name: str) -> list[FileRecord]:
        service = await self._records(peer, "get_records")
        with answered(peer.grpc_address, "get_records"):
            return list(await service.get_records(name))

    async def fetch_range(
        self, peer: PeerRef, start: int, end: int, after: RecordKey | None
    ) -> RecordPage:
        service = await self._records(peer, "fetch_range")
        with answered(peer.grpc_address, "fetch_range"):
            return await service.fetch_range(start, end, after)

    async def range_digest(self, peer: PeerRef, start: int, end: int) -> bytes:
        service = await self._records(peer, "range_digest")
        with answered(peer.grpc_address, "range_digest"):
            return await service.range_digest(start, end)

    async def list_names(self, peer: PeerRef, after: str, limit: int) -> list[str]:
        service = await self._records(peer, "list_names")
        with answered(peer.grpc_address, "list_names"):
            return list(await service.list_names(after, limit))

    async def provides(self, peer: PeerRef, key: RecordKey) -> tuple[int, bool]:
        service = await self._records(peer, "provides")
        with answered(peer.grpc_address, "provides"):
            return await service.provides(key)

    async def find_word(self, peer: PeerRef, word: str, after: RecordKey | None) -> RecordPage:
        service = await self._records(peer, "find_word")
        with answered(peer.grpc_address, "find_word"):
            return await service.find_word(word, after)
