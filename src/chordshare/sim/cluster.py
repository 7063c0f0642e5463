"""A ring of real :class:`ChordNode` objects on a :class:`MemoryNetwork`, driven step by step.

Tests and the simulator share this harness. Maintenance runs in explicit rounds (every live
node, in a seeded random order, runs stabilize, check_predecessor and fix_fingers), so every run
is deterministic under its seed and takes no real time.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterable

from chordshare.clock import ManualClock
from chordshare.node.ring.chord import ChordNode
from chordshare.node.ring.settings import RingSettings
from chordshare.ring import IdSpace, NamedAddress, PeerRef, RoutingTable
from chordshare.ring.invariants import check_converged, check_invariant, finger_problems
from chordshare.ring.oracle import RingOracle
from chordshare.transport.memory.network import MemoryNetwork


class MemoryCluster:
    def __init__(
        self,
        bits: int = 32,
        settings: RingSettings | None = None,
        seed: int = 0,
        *,
        yield_on_call: bool = True,
        clock: ManualClock | None = None,
    ) -> None:
        self.space = IdSpace(bits)
        self.identity = NamedAddress(self.space)
        """Nodes live at ``mem-<hex id>``, so hand-picked ids are still checkable."""
        self.settings = settings or RingSettings()
        self.rng = random.Random(seed)
        self.clock = clock or ManualClock()
        self.network = MemoryNetwork(
            self.clock,
            seed=seed,
            rpc_timeout=self.settings.rpc_timeout,
            yield_on_call=yield_on_call,
        )
        self.nodes: dict[int, ChordNode] = {}

    # -- membership ---------------------------------------------------------------------------

    def fresh_id(self) -> int:
        while True:
            ident = self.rng.randrange(self.space.size)
            if ident not in self.nodes:
                return ident

    def random_ids(self, count: int, rng: random.Random | None = None) -> list[int]:
        """``count`` distinct ids not in use, uniform on the ring (as SHA-1 of addresses are)."""
        draw = rng or self.rng
        out: set[int] = set()
        while len(out) < count:
            ident = draw.getrandbits(self.space.bits)
            if ident not in self.nodes:
                out.add(ident)
        return sorted(out)

    def spawn(self, ident: int | None = None) -> ChordNode:
        """Create and register a node that is not yet part of any ring."""
        ident = self.fresh_id() if ident is None else self.space.check(ident)
        if ident in self.nodes:
            raise ValueError(f"id {ident} already in use")
        address = self.identity.address(ident)
        peer = PeerRef(ident, address, f"http://{address}")
        node = ChordNode(
            self.space,
            peer,
            self.network.client(address),
            self.clock,
            self.settings,
            identity=self.identity,
        )
        self.network.register(peer, ring=node)
        self.nodes[ident] = node
        return node

    def random_node(self) -> ChordNode:
        return self.nodes[self.rng.choice(sorted(self.nodes))]

    async def join(self, ident: int | None = None, seed: ChordNode | None = None) -> ChordNode:
        """Add a node that joins through ``seed`` (a random live member by default)."""
        via = seed if seed is not None else (self.random_node() if self.nodes else None)
        node = self.spawn(ident)
        if via is not None:
            await node.join(via.me)
        return node

    def crash(self, node: ChordNode) -> None:
        self.network.crash(node.me.grpc_address)
        del self.nodes[node.me.id]

    def discard(self, node: ChordNode) -> None:
        """Remove a node that never became a member (its join failed)."""
        self.network.unregister(node.me.grpc_address)
        del self.nodes[node.me.id]

    async def leave(self, node: ChordNode) -> None:
        await node.leave()
        self.network.unregister(node.me.grpc_address)
        del self.nodes[node.me.id]

    def place(self, ids: Iterable[int]) -> None:
        """Build a converged ring at once (for large simulations): every node gets its true
        predecessor, successor list and fingers. Verify it with :meth:`verify`.

        Fingers are computed by walking the sorted ring: one bisection per *distinct* finger
        (about log2 N of them) instead of one per entry (m = 160), since every finger whose start
        falls before the previous finger's node shares it (``FingerTable.fill_from``)."""
        for ident in ids:
            self.spawn(ident)
        ring = sorted(self.nodes)
        count = len(ring)
        peers = [self.nodes[i].me for i in ring]
        size, bits = self.space.size, self.space.bits
        for index, ident in enumerate(ring):
            table = self.nodes[ident].table
            if count > 1:
                table.predecessor = peers[index - 1]
            wanted = min(table.successors.size, count - 1)
            table.successors.replace(peers[(index + k) % count] for k in range(1, wanted + 1))
            fingers = table.fingers
            finger = 0
            while finger < bits:
                owner = bisect.bisect_left(ring, (ident + (1 << finger)) % size) % count
                if owner == index:
                    # The start wrapped round to this node: every later finger does too.
                    for rest in range(finger, bits):
                        fingers.set(rest, None)
                    break
                finger = fingers.fill_from(finger, peers[owner])

    def verify(self, *, fingers: bool = False) -> None:
        """Raise AssertionError unless the ring is converged: Zave's invariant, true successor
        lists and predecessors and, with ``fingers``, true fingers. Linear in N (see
        ``chordshare.ring.invariants``), so usable on the largest simulated rings."""
        problems = check_converged(self.tables())
        if fingers and not problems:
            problems = finger_problems(self.tables())
        if problems:
            raise AssertionError(f"ring not converged: {problems[:3]}")

    # -- maintenance ----------------------------------------------------------------------------

    async def round(self, *, fingers: bool = True) -> None:
        """One maintenance round of every live node, in a seeded random order."""
        order = sorted(self.nodes)
        self.rng.shuffle(order)
        for ident in order:
            node = self.nodes.get(ident)
            if node is None:
                continue
            await node.stabilize()
            await node.check_predecessor()
            if fingers:
                await node.fix_fingers()

    async def converge(self, max_rounds: int = 200, *, fingers: bool = True) -> int:
        """Run rounds until the ring is converged; returns the rounds used. Raises if the
        invariant ever breaks or convergence does not come within ``max_rounds``."""
        for used in range(max_rounds + 1):
            problems = check_invariant(self.tables())
            if problems and used > 0:
                raise AssertionError(f"invariant broken after round {used}: {problems[:3]}")
            if not problems and not check_converged(self.tables()):
                return used
            await self.round(fingers=fingers)
        raise AssertionError(
            f"not converged after {max_rounds} rounds: {check_converged(self.tables())[:3]}"
        )

    async def refresh_fingers(self, rounds: int | None = None) -> None:
        """Run fix_fingers on every node until every finger had a chance to refresh."""
        per_round = self.settings.fingers_per_round
        rounds = rounds if rounds is not None else self.space.bits // per_round + 1
        for _ in range(rounds):
            for node in list(self.nodes.values()):
                await node.fix_fingers()

    # -- views ----------------------------------------------------------------------------

    def tables(self) -> dict[int, RoutingTable]:
        return {i: n.table for i, n in self.nodes.items()}

    def oracle(self) -> RingOracle:
        return RingOracle(self.space, self.nodes)
