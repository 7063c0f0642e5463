"""The in-memory twin of the gRPC transport (DESIGN.md principle 3).

A :class:`MemoryNetwork` is an object, not a module global: each test or simulation builds its
own. A node registers what it serves under its address, one object per subsystem
(:meth:`MemoryNetwork.register`: its ``RingService``, and optionally its ``RecordService`` and
``TransferService``); the clients (:class:`~chordshare.transport.memory.ring.MemoryPeerClient`,
``MemoryRecordClient``, ``MemoryTransferClient``) deliver calls by awaiting the target's handler
directly. Delivery yields to the event loop once (as a real network would), so interleavings
stay realistic; calling an unknown or crashed address fails loudly with ``PeerUnavailable``,
and calling a subsystem the peer does not serve fails as gRPC's UNIMPLEMENTED does. Partitions,
delays and random loss are deterministic under the network's seed. Every failure, the
network's and the handler's, reaches the caller through the shared error table
(:mod:`chordshare.transport.memory.status`).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from chordshare.clock import Clock
from chordshare.errors import PeerError
from chordshare.ring import PeerRef
from chordshare.transport.memory.ring import MemoryPeerClient
from chordshare.transport.memory.status import network_error
from chordshare.transport.ports.records import RecordService
from chordshare.transport.ports.ring import RingService
from chordshare.transport.ports.status import UNIMPLEMENTED_DETAILS, Status
from chordshare.transport.ports.transfer import TransferService


@dataclass(frozen=True, slots=True)
class Registration:
    """What one address serves: the node's id and one service per subsystem (``None``: not
    served, as a gRPC server without that servicer)."""

    id: int
    ring: RingService
    records: RecordService | None = None
    transfer: TransferService | None = None


def unimplemented(peer: PeerRef, method: str) -> PeerError:
    """The failure of calling a subsystem ``peer`` does not serve."""
    return network_error(Status.UNIMPLEMENTED, UNIMPLEMENTED_DETAILS, peer.grpc_address, method)


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
        self._services: dict[str, Registration] = {}
        self._crashed: set[str] = set()
        self._group: dict[str, int] = {}
        self._delay: dict[str, float] = {}
        self._lose: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()

    # -- membership and faults --------------------------------------------------------------

    def register(
        self,
        peer: PeerRef,
        *,
        ring: RingService,
        records: RecordService | None = None,
        transfer: TransferService | None = None,
    ) -> None:
        """Serve ``peer``'s subsystems at its address, replacing what was registered there (a
        node registers its ring first, then again once its records and files are open)."""
        self._services[peer.grpc_address] = Registration(peer.id, ring, records, transfer)
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

    def lose_next(self, address: str, calls: int = 1) -> None:
        """The next ``calls`` calls to ``address`` time out, as calls whose packets a lossy link
        dropped (the node itself stays up and answers the call after them)."""
        self._lose[address] += calls

    def losses_pending(self, address: str) -> int:
        """Calls to ``address`` still to be lost (0 once the lost calls were made)."""
        return self._lose[address]

    def client(self, source: str) -> MemoryPeerClient:
        """A PeerClient whose calls originate at ``source`` (used for partitions)."""
        return MemoryPeerClient(self, source)

    # -- delivery -------------------------------------------------------------------------

    async def _timeout(self, peer: PeerRef, method: str, wait: float) -> PeerError:
        self.failures["timeout"] += 1
        if self.timeouts_take_time:
            await self.clock.sleep(wait)
        return network_error(
            Status.DEADLINE_EXCEEDED,
            f"deadline of {self.rpc_timeout}s exceeded",
            peer.grpc_address,
            method,
        )

    async def deliver(self, source: str, peer: PeerRef, method: str) -> Registration:
        """Find what answers ``method`` for ``peer``, or raise as a network would."""
        self.calls[method] += 1
        if self.yield_on_call:
            await asyncio.sleep(0)
        entry = self._services.get(peer.grpc_address)
        if entry is None or peer.grpc_address in self._crashed or entry.id != peer.id:
            self.failures["unavailable"] += 1
            raise network_error(
                Status.UNAVAILABLE,
                f"nothing answers at {peer.grpc_address}",
                peer.grpc_address,
                method,
            )
        lost = self._lose[peer.grpc_address] > 0
        if lost:
            self._lose[peer.grpc_address] -= 1
        if (
            lost
            or self._group.get(source, 0) != self._group.get(peer.grpc_address, 0)
            or (self.loss and self.rng.random() < self.loss)
        ):
            raise await self._timeout(peer, method, self.rpc_timeout)
        wait = self._delay.get(peer.grpc_address, 0.0)
        if wait >= self.rpc_timeout:
            raise await self._timeout(peer, method, self.rpc_timeout)
        if wait:
            await self.clock.sleep(wait)
        if peer.grpc_address in self._crashed:
            raise network_error(
                Status.UNAVAILABLE,
                f"{peer.grpc_address} crashed during the call",
                peer.grpc_address,
                method,
            )
        return entry
