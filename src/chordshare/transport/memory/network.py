"""The in-memory twin of the gRPC transport (DESIGN.md principle 3).

A :class:`MemoryNetwork` is an object, not a module global: each test or simulation builds its
own. Nodes register their :class:`RingService` under their address; :class:`MemoryPeerClient`
delivers calls by awaiting the target's handler directly. Delivery yields to the event loop once
(as a real network would), so interleavings stay realistic; calling an unknown or crashed
address fails loudly with :class:`PeerUnavailable`. Partitions, delays and random loss are
deterministic under the network's seed.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from typing import cast

from chordshare.clock import Clock
from chordshare.errors import (
    ChordshareError,
    LookupFailed,
    PeerError,
    PeerProtocolError,
    PeerTimeout,
    PeerUnavailable,
)
from chordshare.ring import NextHop, PeerRef
from chordshare.transport.ports.ring import NodeInfo, RingService


class MemoryNetwork:
    """Addresses -> services, with faults injected on demand."""

    def __init__(
        self,
        clock: Clock,
        *,
        seed: int = 0,
        rpc_timeout: float = 2.0,
        loss: float = 0.0,
        yield_on_call: bool = True,
        timeouts_take_time: bool = False,
    ) -> None:
        if not 0.0 <= loss < 1.0:
            raise ValueError("loss must be in [0, 1)")
        self.clock = clock
        self.rng = random.Random(seed)
        self.rpc_timeout = rpc_timeout
        self.loss = loss
        self.yield_on_call = yield_on_call
        self.timeouts_take_time = timeouts_take_time
        """When true a lost or partitioned call waits ``rpc_timeout`` on the clock before failing
        (for tests that drive time); otherwise it fails at once and only counts a timeout."""
        self._services: dict[str, tuple[int, object]] = {}
        self._crashed: set[str] = set()
        self._group: dict[str, int] = {}
        self._delay: dict[str, float] = {}
        self.calls: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()

    # -- membership and faults --------------------------------------------------------------

    def register(self, peer: PeerRef, service: object) -> None:
        """Serve ``service`` (a RingService, and whatever other services the node offers)."""
        self._services[peer.grpc_address] = (peer.id, service)
        self._crashed.discard(peer.grpc_address)

    def unregister(self, address: str) -> None:
        self._services.pop(address, None)

    def crash(self, address: str) -> None:
        if address not in self._services:
            raise KeyError(f"no node at {address}")
        self._crashed.add(address)

    def revive(self, address: str) -> None:
        self._crashed.discard(address)

    def is_up(self, address: str) -> bool:
        return address in self._services and address not in self._crashed

    def partition(self, groups: Iterable[Collection[str]]) -> None:
        """Split the network: calls between different groups time out. Addresses not listed
        stay in group 0 together with the first group."""
        self._group = {addr: i for i, group in enumerate(groups) for addr in group}

    def heal(self) -> None:
        self._group.clear()

    def delay(self, address: str, seconds: float) -> None:
        """Every call to ``address`` takes ``seconds`` of clock time (0 removes the delay)."""
        if seconds <= 0:
            self._delay.pop(address, None)
        else:
            self._delay[address] = seconds

    def client(self, source: str) -> MemoryPeerClient:
        """A PeerClient whose calls originate at ``source`` (used for partitions)."""
        return MemoryPeerClient(self, source)

    # -- delivery -------------------------------------------------------------------------

    async def _timeout(self, method: str, wait: float) -> PeerTimeout:
        self.failures["timeout"] += 1
        if self.timeouts_take_time:
            await self.clock.sleep(wait)
        return PeerTimeout(f"{method}: deadline of {self.rpc_timeout}s exceeded")

    async def deliver(self, source: str, peer: PeerRef, method: str) -> object:
        """Find the service that answers ``method`` for ``peer``, or raise as a network would."""
        self.calls[method] += 1
        if self.yield_on_call:
            await asyncio.sleep(0)
        entry = self._services.get(peer.grpc_address)
        if entry is None or peer.grpc_address in self._crashed or entry[0] != peer.id:
            self.failures["unavailable"] += 1
            raise PeerUnavailable(f"{method}: nothing answers at {peer.grpc_address}")
        if self._group.get(source, 0) != self._group.get(peer.grpc_address, 0) or (
            self.loss and self.rng.random() < self.loss
        ):
            raise await self._timeout(method, self.rpc_timeout)
        wait = self._delay.get(peer.grpc_address, 0.0)
        if wait >= self.rpc_timeout:
            raise await self._timeout(method, self.rpc_timeout)
        if wait:
            await self.clock.sleep(wait)
        if peer.grpc_address in self._crashed:
            raise PeerUnavailable(f"{method}: {peer.grpc_address} crashed during the call")
        return entry[1]


@contextmanager
def remote_errors(peer: PeerRef, method: str) -> Iterator[None]:
    """What a remote handler raises reaches the caller as it would over gRPC (see
    ``transport.grpc.status``): transient failures (``PeerError``, ``LookupFailed``: UNAVAILABLE)
    as ``PeerUnavailable``, any other ``ChordshareError`` (a refused request, a storage failure)
    as ``PeerProtocolError``. Node code thus sees only ``PeerError`` on either transport."""
    try:
        yield
    except (PeerError, LookupFailed) as exc:
        raise PeerUnavailable(f"{method} to {peer.grpc_address} failed: {exc}") from exc
    except ChordshareError as exc:
        raise PeerProtocolError(
            f"{method} to {peer.grpc_address} refused: {type(exc).__name__}: {exc}"
        ) from exc


class MemoryPeerClient:
    """:class:`chordshare.transport.ports.ring.PeerClient` over a :class:`MemoryNetwork`."""

    def __init__(self, network: MemoryNetwork, source: str) -> None:
        self.network = network
        self.source = source

    async def _ring(self, peer: PeerRef, method: str) -> RingService:
        return cast(RingService, await self.network.deliver(self.source, peer, method))

    async def get_node_info(self, peer: PeerRef) -> NodeInfo:
        service = await self._ring(peer, "get_node_info")
        with remote_errors(peer, "get_node_info"):
            return await service.get_node_info()

    async def find_successor_step(
        self, peer: PeerRef, key: int, exclude: Collection[int]
    ) -> NextHop:
        service = await self._ring(peer, "find_successor_step")
        with remote_errors(peer, "find_successor_step"):
            return await service.find_successor_step(key, frozenset(exclude))

    async def rectify(self, peer: PeerRef, candidate: PeerRef) -> None:
        service = await self._ring(peer, "rectify")
        with remote_errors(peer, "rectify"):
            await service.rectify(candidate)

    async def leave_notice(
        self,
        peer: PeerRef,
        leaving: PeerRef,
        predecessor: PeerRef | None,
        successors: tuple[PeerRef, ...],
    ) -> None:
        service = await self._ring(peer, "leave_notice")
        with remote_errors(peer, "leave_notice"):
            await service.leave_notice(leaving, predecessor, successors)

    async def ping(self, peer: PeerRef) -> None:
        service = await self._ring(peer, "ping")
        with remote_errors(peer, "ping"):
            await service.ping()
