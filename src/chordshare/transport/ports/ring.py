"""The "ask a peer" boundary (DESIGN.md principles 1 and 2).

Node algorithms talk to other nodes only through :class:`PeerClient`. Two implementations ship
side by side: ``transport.grpc`` (real sockets) and ``transport.memory`` (an in-process network
for tests and the simulator). Each client method pairs with the :class:`RingService` method of
the same name on the node being asked, and with the RPC of the same name in ``ring.proto``.

Every method raises only :class:`chordshare.errors.PeerError` subclasses for transport faults:
``PeerUnavailable`` (down, refused), ``PeerTimeout`` (deadline passed) or ``PeerProtocolError``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from chordshare.ring import NextHop, PeerRef


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A node's view of its neighbourhood, as stabilize and join need it."""

    peer: PeerRef
    predecessor: PeerRef | None
    successors: tuple[PeerRef, ...]
    leaving: bool = False
    """The node has begun a graceful leave: a leave notice naming it is genuine only while it
    says so."""


class RingService(Protocol):
    """What a node answers to other nodes (the server side of ``ring.proto``)."""

    async def get_node_info(self) -> NodeInfo: ...

    async def find_successor_step(self, key: int, exclude: Collection[int]) -> NextHop: ...

    async def rectify(self, candidate: PeerRef) -> None: ...

    async def leave_notice(
        self, leaving: PeerRef, predecessor: PeerRef | None, successors: tuple[PeerRef, ...]
    ) -> None: ...

    async def ping(self) -> None: ...


class PeerClient(Protocol):
    """How a node asks another node (the client side of ``ring.proto``)."""

    async def get_node_info(self, peer: PeerRef) -> NodeInfo: ...

    async def find_successor_step(
        self, peer: PeerRef, key: int, exclude: Collection[int]
    ) -> NextHop: ...

    async def rectify(self, peer: PeerRef, candidate: PeerRef) -> None: ...

    async def leave_notice(
        self,
        peer: PeerRef,
        leaving: PeerRef,
        predecessor: PeerRef | None,
        successors: tuple[PeerRef, ...],
    ) -> None: ...

    async def ping(self, peer: PeerRef) -> None: ...
