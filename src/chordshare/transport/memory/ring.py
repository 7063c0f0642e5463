""":class:`MemoryPeerClient`: the ring's :class:`~chordshare.transport.ports.ring.PeerClient`
over a :class:`~chordshare.transport.memory.network.MemoryNetwork`.

Each call is delivered by the network (which fails as a network would: unknown, crashed,
partitioned, delayed) to the peer's registered ``RingService``; what the handler raises reaches
the caller through the shared table's ring profile (:func:`answered`), so node code sees only
``PeerError`` here, as over gRPC.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from chordshare.ring import NextHop, PeerRef
from chordshare.transport.memory.status import answered
from chordshare.transport.ports.ring import NodeInfo, RingService

if TYPE_CHECKING:  # the network builds these clients: a runtime import would be circular
    from chordshare.transport.memory.network import MemoryNetwork


class MemoryPeerClient:
    """:class:`chordshare.transport.ports.ring.PeerClient` over a :class:`MemoryNetwork`."""

    def __init__(self, network: MemoryNetwork, source: str) -> None:
        self.network = network
        self.source = source

    async def _ring(self, peer: PeerRef, method: str) -> RingService:
        return (await self.network.deliver(self.source, peer, method)).ring

    async def get_node_info(self, peer: PeerRef) -> NodeInfo:
        service = await self._ring(peer, "get_node_info")
        with answered(peer.grpc_address, "get_node_info"):
            return await service.get_node_info()

    async def find_successor_step(
        self, peer: PeerRef, key: int, exclude: Collection[int]
    ) -> NextHop:
        service = await self._ring(peer, "find_successor_step")
        with answered(peer.grpc_address, "find_successor_step"):
            return await service.find_successor_step(key, frozenset(exclude))

    async def rectify(self, peer: PeerRef, candidate: PeerRef) -> None:
        service = await self._ring(peer, "rectify")
        with answered(peer.grpc_address, "rectify"):
            await service.rectify(candidate)

    async def leave_notice(
        self,
        peer: PeerRef,
        leaving: PeerRef,
        predecessor: PeerRef | None,
        successors: tuple[PeerRef, ...],
    ) -> None:
        service = await self._ring(peer, "leave_notice")
        with answered(peer.grpc_address, "leave_notice"):
            await service.leave_notice(leaving, predecessor, successors)

    async def ping(self, peer: PeerRef) -> None:
        service = await self._ring(peer, "ping")
        with answered(peer.grpc_address, "ping"):
            await service.ping()
