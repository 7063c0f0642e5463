"""A ring of nodes that serve records, on the in-memory network (built on MemoryCluster).

Each node registers its ChordNode (ring RPCs) and its RecordNode (record RPCs) under its address.
Maintenance and repair run in explicit rounds,
so every run is deterministic under its seed; a fake wall clock drives provider expiry.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from chordshare.errors import JoinFailed
from chordshare.model.limits import RECORD_PAGE_BYTES
from chordshare.model.manifest import FileRecord
from chordshare.model.records import RecordKey
from chordshare.node.records.node import RecordNode
from chordshare.node.records.repair import RepairReport
from chordshare.node.ring.chord import ChordNode
from chordshare.node.ring.settings import RingSettings
from chordshare.ring import PeerRef
from chordshare.ring.invariants import check_invariant
from chordshare.sim.cluster import MemoryCluster
from chordshare.storage.records.store import RecordStore
from chordshare.transport.memory.records import MemoryRecordClient
from tests.records.factory import WallClock

JOIN_ATTEMPTS = 5


class VouchingClient(MemoryRecordClient):
    """The in-memory record client, except that a provider address no cluster node serves
    (the invented providers of :func:`tests.records.factory.provider`) answers ``Provides``
    as ``cluster.vouch`` says: by default "I am that node and I hold it", so that tests about
    placement, sync and expiry can name providers without running them."""

    def __init__(self, cluster: RecordCluster, me: str) -> None:
        super().__init__(cluster.ring.network, me)
        self.cluster = cluster

    async def provides(self, peer: PeerRef, key: RecordKey) -> tuple[int, bool]:
        if self.cluster.vouch is None or peer.grpc_address in self.cluster.addresses:
            return await super().provides(peer, key)
        return peer.id, self.cluster.vouch(peer.id, key)


class RecordCluster:
    def __init__(
        self,
        data_root: Path | None,
        *,
        bits: int = 32,
        seed: int = 0,
        replicas: int = 3,
        successor_list_size: int = 6,
        message_bytes: int = RECORD_PAGE_BYTES,
    ) -> None:
        self.ring = MemoryCluster(bits, RingSettings(successor_list_size=successor_list_size), seed)
        self.data_root = data_root
        self.replicas = replicas
        self.message_bytes = message_bytes
        self.wall = WallClock()
        self.records: dict[int, RecordNode] = {}
        self._stores: list[RecordStore] = []
        self.vouch: Callable[[int, RecordKey], bool] | None = lambda node, key: True
        """How an invented provider (one at an address no node serves) answers ``Provides``;
        ``None``: it does not answer, like a dead node."""
        self.addresses: set[str] = set()
        """Every address a cluster node was spawned at (dead ones included)."""

    @property
    def rng(self) -> random.Random:
        return self.ring.rng

    async def add(self, ident: int | None = None, *, take_over: bool = True) -> RecordNode:
        """A new node joins through a random member and takes its range over."""
        via = self.ring.random_node() if self.ring.nodes else None
        node = self.ring.spawn(ident)
        self.addresses.add(node.me.grpc_address)
        data = None if self.data_root is None else self.data_root / f"n{node.me.id:x}"
        store = await RecordStore.open(data, self.ring.space, wall_clock=self.wall)
        self._stores.append(store)
        client = VouchingClient(self, node.me.grpc_address)
        rec = RecordNode(
            node, store, client, replicas=self.replicas, message_bytes=self.message_bytes
        )
        self.ring.network.register(node.me, ring=node, records=rec)
        self.records[node.me.id] = rec
        if via is not None:
            await self._join(node, via)
            if take_over:
                await rec.take_over()
        return rec

    async def _join(self, node: ChordNode, via: ChordNode) -> None:
        """Join, retrying through other members after a maintenance round: mid-churn a seed may
        only know dead successors for our id (the service retries the same way)."""
        for _ in range(JOIN_ATTEMPTS - 1):
            try:
                await node.join(via.me)
            except JoinFailed:
                await self.ring.round()
                via = self.ring.nodes[
                    self.rng.choice([i for i in self.ring.nodes if i != node.me.id])
                ]
            else:
                return
        await node.join(via.me)

    async def grow(self, n: int) -> None:
        for _ in range(n):
            await self.add()
            assert check_invariant(self.ring.tables()) == []

    def crash(self, rec: RecordNode) -> None:
        self.ring.crash(rec.node)
        del self.records[rec.me.id]

    async def leave(self, rec: RecordNode) -> int:
        handed = await rec.hand_off()
        await self.ring.leave(rec.node)
        del self.records[rec.me.id]
        return handed

    def random(self) -> RecordNode:
        return self.records[self.rng.choice(sorted(self.records))]

    async def repair_round(self) -> list[RepairReport]:
        order = sorted(self.records)
        self.rng.shuffle(order)
        return [await self.records[i].repair() for i in order if i in self.records]

    async def settle(self, max_rounds: int = 30) -> int:
        """Converge the ring, then run repair rounds until every record sits exactly on its
        holders; returns the repair rounds used."""
        await self.ring.converge()
        for used in range(1, max_rounds + 1):
            await self.repair_round()
            if not await self.misplaced():
                return used
        raise AssertionError(f"records still misplaced: {(await self.misplaced())[:5]}")

    # -- views -----------------------------------------------------------------------------

    def holders(self, name: str) -> list[int]:
        """The true holders of ``name``: its owner and the next k-1 live nodes."""
        oracle = self.ring.oracle()
        owner = oracle.successor(self.ring.space.hash_key(name))
        return [owner, *oracle.successors(owner, self.replicas - 1)]

    async def held_by(self) -> dict[RecordKey, set[int]]:
        where: dict[RecordKey, set[int]] = {}
        for ident, rec in self.records.items():
            for r in await rec.store.scan(0, 0):
                where.setdefault(RecordKey.of(r), set()).add(ident)
        return where

    async def misplaced(self) -> list[str]:
        problems = []
        for key, nodes in (await self.held_by()).items():
            text = key.word or key.name  # a word entry lives at its word's key
            want = set(self.holders(text))
            if nodes != want:
                where = f"{key.name} under {key.word!r}" if key.word else key.name
                problems.append(f"{where}: on {sorted(nodes)}, want {sorted(want)}")
        return problems

    async def copies(self, record: FileRecord) -> int:
        return len((await self.held_by()).get(RecordKey.of(record), set()))

    async def close(self) -> None:
        for store in self._stores:
            await store.close()
