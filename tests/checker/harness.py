"""A ring of nodes with their full file-sharing stack on the in-memory network, driven by hand.

Each member is a :class:`ChordNode` plus the service's own composition of file sharing
(:class:`NodeFiles`: records, blob store, transfer, uploader, fetcher), registered on one
:class:`MemoryNetwork` under an address whose hash is the node's id, as the service does. Time is
a :class:`ManualClock` (maintenance intervals, repair pacing) and a fake wall clock (provider
expiry) that move together, one tick at a time, only when the harness says so.

Maintenance runs in explicit rounds (:meth:`FilesCluster.tick`): ring maintenance of every live
node (stabilize, check_predecessor, fix_fingers, as ``MemoryCluster.round``), then every job of
``NodeFiles.jobs()`` that is due on that node's clock, then ``NodeFiles.idle()`` for the
announcements they started. The job list is read from ``jobs()`` when a node opens, so jobs added
to the service later (byte repair, say) run here without a change. A job's ``ChordshareError`` is
logged and the job runs again when next due, as in :class:`Maintenance`; any other exception is a
bug and is recorded in :attr:`FilesCluster.bugs`.

Lifecycle, in the service's order (:mod:`chordshare.service.node_service`): open the files, serve
them on the network, join through a live member, ``take_over``, ``start``. A graceful leave is
``ChordNode.leave`` then ``NodeFiles.hand_off``, then the node stops serving and closes. A crash
stops the address answering at once and closes the files without any hand-off (a SIGKILL: what
is on disk stays); a restart reopens the same directories at the same address.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chordshare.clock import ManualClock
from chordshare.errors import ChordshareError, JoinFailed
from chordshare.model.manifest import MIN_PIECE_SIZE, FileRecord
from chordshare.node.ring.chord import ChordNode
from chordshare.ring import IdSpace, PeerRef
from chordshare.ring.invariants import check_converged
from chordshare.service.config import NodeConfig
from chordshare.service.files import NodeFiles
from chordshare.storage.files.pieces import PieceHasher
from chordshare.transport.memory.network import MemoryNetwork
from chordshare.transport.memory.records import MemoryRecordClient
from chordshare.transport.memory.transfer import MemoryTransferClient
from tests.records.factory import WallClock

log = logging.getLogger(__name__)

PIECE = MIN_PIECE_SIZE
"""16 KiB pieces: files of a few tens of KiB span several pieces."""

K = 3
"""Replication factor of every checker ring."""

TICK = 1.0
"""Seconds of clock time per maintenance round: the stabilize interval."""

SETTINGS: dict[str, Any] = {
    "ring_bits": 32,
    "piece_size": PIECE,
    "replication_factor": K,
    "successor_list_size": 5,
    "stabilize_interval": TICK,
    "fix_fingers_interval": TICK,
    "check_predecessor_interval": TICK,
    "rescan_interval": 5.0,
    "republish_interval": 6.0,
    "provider_ttl": 24.0,
    "stale_part_age": 3600.0,
    "max_file_bytes": 1 << 20,
}
"""Intervals scaled so that repair (every 10 stabilize periods) and republishing (well inside
the provider TTL) happen within a few dozen ticks."""

JOIN_ATTEMPTS = 5


def content_hash(content: bytes, piece_size: int = PIECE) -> bytes:
    """The identity the network gives ``content`` (the hash over its piece hashes)."""
    hasher = PieceHasher(piece_size)
    hasher.update(content)
    return hasher.manifest("x").content_hash


async def chunks_of(content: bytes, size: int = 8 << 10) -> AsyncIterator[bytes]:
    """``content`` as a request body arrives: in blocks."""
    for start in range(0, len(content), size):
        yield content[start : start + size]


@dataclass
class Member:
    """One node: its identity and directories, and, while it runs, its ring node and files."""

    name: str
    ref: PeerRef
    root: Path
    node: ChordNode | None = None
    files: NodeFiles | None = None
    due: dict[str, float] = field(default_factory=dict)
    jobs: list[tuple[str, float, Any]] = field(default_factory=list)

    @property
    def up(self) -> bool:
        return self.files is not None

    def running(self) -> tuple[ChordNode, NodeFiles]:
        assert self.node is not None, f"{self.name} is not running"
        assert self.files is not None, f"{self.name} is not running"
        return self.node, self.files


class FilesCluster:
    """Members by name; every one that ever ran keeps its directories."""

    def __init__(self, root: Path, seed: int = 0, **values: Any) -> None:
        self.root = root
        self.rng = random.Random(seed)
        self.clock = ManualClock()
        self.wall = WallClock()
        self.values = {**SETTINGS, **values}
        self.space = IdSpace(self.values["ring_bits"])
        self.network = MemoryNetwork(self.clock, seed=seed, rpc_timeout=2.0)
        self.members: dict[str, Member] = {}
        self.bugs: list[str] = []
        """Non-ChordshareError exceptions raised by maintenance jobs."""
        self._numbers = 0

    # -- membership -----------------------------------------------------------------------------

    def live(self) -> list[Member]:
        return [m for m in self.members.values() if m.up]

    def config(self, member: Member) -> NodeConfig:
        return NodeConfig(
            shared_dir=member.root / "shared", data_dir=member.root / "data", **self.values
        )

    def _new_member(self, accept: Callable[[int], bool] | None = None) -> Member:
        """The next unused name whose id is new (and accepted by ``accept``, when given: the ids of
        names are fixed, so a test that needs a node at some place on the ring picks the
        first name that lands there)."""
        for _ in range(100_000):
            name = f"n{self._numbers}"
            self._numbers += 1
            address = f"mem-{name}:7000"
            ident = self.space.node_id(address)
            fresh = all(m.ref.id != ident for m in self.members.values())
            if fresh and (accept is None or accept(ident)):
                break
        else:
            raise AssertionError("no name gives an id that the test accepts")
        member = Member(name, PeerRef(ident, address, f"http://mem-{name}:8000"), self.root / name)
        self.members[name] = member
        return member

    async def _start(self, member: Member) -> None:
        """Open, serve, join through a live member, take over, start (the service's order)."""
        seeds = [m for m in self.live() if m is not member]
        config = self.config(member)
        address = member.ref.grpc_address
        node = ChordNode(
            self.space, member.ref, self.network.client(address), self.clock, config.ring_settings()
        )
        files = await NodeFiles.open(
            node,
            config,
            MemoryRecordClient(self.network, address),
            MemoryTransferClient(self.network, address),
            clock=self.clock,
            wall_clock=self.wall,
        )
        self.network.register(node.me, ring=node, records=files.records, transfer=files.transfer)
        member.node, member.files = node, files
        if seeds:
            await self._join(node, seeds)
        await files.take_over()
        await files.start()
        await files.idle()
        member.jobs = list(files.jobs())
        now = self.clock.now()
        member.due = {name: now + interval for name, interval, _ in member.jobs}

    async def _join(self, node: ChordNode, seeds: list[Member]) -> None:
        """Join, retrying through other members after a round: mid-churn a seed may only know
        dead successors for our id (the service retries the same way)."""
        for attempt in range(JOIN_ATTEMPTS):
            via = seeds[self.rng.randrange(len(seeds))]
            try:
                await node.join(via.ref)
            except JoinFailed:
                if attempt == JOIN_ATTEMPTS - 1:
                    raise
                await self.ring_round()
            else:
                return

    async def add(self, accept: Callable[[int], bool] | None = None) -> Member:
        """A new node joins the ring (with an id ``accept`` takes, when given)."""
        member = self._new_member(accept)
        await self._start(member)
        return member

    async def grow(self, count: int) -> list[Member]:
        added = [await self.add() for _ in range(count)]
        await self.converge()
        return added

    async def crash(self, member: Member) -> None:
        """SIGKILL: the address stops answering now; nothing is handed on."""
        _, files = member.running()
        self.network.crash(member.ref.grpc_address)
        member.node = member.files = None
        await files.close()

    async def restart(self, member: Member) -> None:
        """The crashed node comes back at the same address on the same directories."""
        assert not member.up, f"{member.name} is running"
        await self._start(member)

    async def leave(self, member: Member) -> None:
        """Graceful leave: the leave notices, then the hand-off, then the node stops."""
        node, files = member.running()
        await node.leave()
        await files.hand_off()
        self.network.unregister(member.ref.grpc_address)
        member.node = member.files = None
        await files.close()

    async def close(self) -> None:
        for member in self.live():
            _, files = member.running()
            member.node = member.files = None
            await files.close()

    # -- time and maintenance -------------------------------------------------------------------

    async def ring_round(self) -> None:
        """Ring maintenance of every live node, in a seeded random order."""
        order = self.live()
        self.rng.shuffle(order)
        for member in order:
            if member.node is None:
                continue
            node = member.node
            await self._guarded(member, "stabilize", node.stabilize)
            await self._guarded(member, "check_predecessor", node.check_predecessor)
            await self._guarded(member, "fix_fingers", node.fix_fingers)

    async def tick(self) -> None:
        """One round: the clocks move by :data:`TICK`, then ring maintenance of every live
        node, then every files job due on each, then their background announcements."""
        await self.clock.advance(TICK)
        self.wall.now += TICK
        await self.ring_round()
        order = self.live()
        self.rng.shuffle(order)
        now = self.clock.now()
        for member in order:
            for name, interval, step in member.jobs:
                if member.files is None or member.due[name] > now:
                    continue
                member.due[name] = now + interval
                await self._guarded(member, name, step)
        for member in self.live():
            if member.files is not None:
                await member.files.idle()

    async def _guarded(self, member: Member, name: str, step: Any) -> None:
        try:
            await step()
        except ChordshareError as exc:
            log.info("%s on %s failed: %s", name, member.name, exc)
        except Exception as exc:
            self.bugs.append(f"{name} on {member.name}: {type(exc).__name__}: {exc}")
            log.exception("%s on %s raised", name, member.name)

    def repair_ticks(self) -> int:
        """Rounds of one repair period: twice the longest interval of the jobs that keep data
        in place (every job due at most once per provider TTL), so each runs at least twice
        after the ring noticed a fault."""
        ttl = self.values["provider_ttl"]
        intervals = [
            interval for m in self.live() for _, interval, _ in m.jobs if interval <= ttl
        ] or [TICK]
        return int(2 * max(intervals) / TICK) + 5

    async def repair_period(self) -> None:
        for _ in range(self.repair_ticks()):
            await self.tick()

    async def converge(self, max_rounds: int = 100) -> None:
        for _ in range(max_rounds):
            tables = {m.ref.id: m.node.table for m in self.live() if m.node is not None}
            if not check_converged(tables):
                return
            await self.tick()
        raise AssertionError("ring not converged")

    # -- views ----------------------------------------------------------------------------------

    def holders(self, name: str) -> list[Member]:
        """The live members that should hold ``name``: its owner and the next k-1."""
        ring = sorted(self.live(), key=lambda m: m.ref.id)
        key = self.space.hash_key(name)
        first = next((i for i, m in enumerate(ring) if m.ref.id >= key), 0)
        return [ring[(first + j) % len(ring)] for j in range(min(K, len(ring)))]

    def storing(self, content: bytes) -> list[Member]:
        """The live members whose blob store holds ``content``."""
        wanted = content_hash(content)
        return [m for m in self.live() if m.files and m.files.blobs.by_content(wanted)]

    # -- client operations ----------------------------------------------------------------------

    async def upload(self, member: Member, name: str, content: bytes) -> FileRecord:
        """``PUT`` at ``member``: returns once the upload is acknowledged."""
        _, files = member.running()
        result = await files.upload(name, chunks_of(content))
        return result.record

    async def read(
        self, member: Member, name: str, content: bytes | None = None, variant: int = 0
    ) -> tuple[bytes, bytes] | None:
        """``GET`` at ``member``: the bytes of one variant of ``name`` (the one whose content
        hash is that of ``content`` if given, else the ``variant``-th) and the content hash the
        record claims; None when the network knows no such variant. Raises ChordshareError."""
        _, files = member.running()
        records = await files.find(name)
        if content is not None:
            wanted = content_hash(content)
            records = [r for r in records if r.manifest.content_hash == wanted]
        if not records:
            return None
        record = records[variant % len(records)]
        held = await files.fetch(record)
        # Read in the loop, with no await between: nothing can replace the file meanwhile.
        return held.path.read_bytes(), record.manifest.content_hash


async def drain(cluster: FilesCluster, tasks: list[asyncio.Task[Any]], max_ticks: int) -> None:
    """Run rounds until every task is done or ``max_ticks`` have passed."""
    for _ in range(max_ticks):
        if all(t.done() for t in tasks):
            return
        await cluster.tick()
