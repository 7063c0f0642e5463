"""Lying nodes: how many lookups name a wrong owner when a share of the ring answers falsely.

Each liar answers ``FindSuccessorStep`` falsely in one of three ways (round robin): it names
itself as owner, it names its predecessor (an answer outside the interval it should fall in), or
it sends the asker back to a node behind it (a loop); its other answers are true. Lookups run
from honest nodes to uniform keys, judged by the oracle; wrong owners and failed lookups are
counted apart. The same ring, liars and keys serve the checked lookup (failover on) and the
paper's plain one.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from chordshare.errors import LookupFailed
from chordshare.node.ring.chord import ChordNode
from chordshare.node.ring.settings import RingSettings
from chordshare.ring import NextHop, PeerRef
from chordshare.sim.cluster import MemoryCluster
from chordshare.sim.report import Report, Row, Target
from chordshare.transport.ports.ring import NodeInfo

LIES = ("self", "outside", "loop")


@dataclass
class Honest:
    """A member's ring service answering every call truly: liars override what they lie in."""

    node: ChordNode

    async def get_node_info(self) -> NodeInfo:
        return await self.node.get_node_info()

    async def find_successor_step(self, key: int, exclude: Collection[int]) -> NextHop:
        return await self.node.find_successor_step(key, exclude)

    async def rectify(self, candidate: PeerRef) -> None:
        await self.node.rectify(candidate)

    async def leave_notice(
        self, leaving: PeerRef, predecessor: PeerRef | None, successors: tuple[PeerRef, ...]
    ) -> None:
        await self.node.leave_notice(leaving, predecessor, successors)

    async def ping(self) -> None:
        return None


@dataclass
class Liar(Honest):
    """A member's ring service that lies in its routing steps (``mode``, one of ``LIES``) and
    prepends ``forged`` to its successor list; its other answers are true."""

    mode: str
    forged: tuple[PeerRef, ...] = ()

    async def get_node_info(self) -> NodeInfo:
        info = await self.node.get_node_info()
        return NodeInfo(info.peer, info.predecessor, (*self.forged, *info.successors))

    async def find_successor_step(self, key: int, exclude: Collection[int]) -> NextHop:
        me = self.node.me
        behind = self.node.table.predecessor or me
        if self.mode == "self":
            return NextHop(done=True, peers=(me,))
        if self.mode == "outside":
            return NextHop(done=True, peers=(behind,))
        return NextHop(done=False, peers=(behind,))


@dataclass(frozen=True, slots=True)
class AdversaryRow:
    nodes: int
    liars: int
    checked: bool
    lookups: int
    wrong: int
    failed: int


async def run_adversary(
    share: float, *, checked: bool, nodes: int = 256, lookups: int = 2000, seed: int = 7
) -> AdversaryRow:
    """One run: ``share`` of ``nodes`` lie; ``checked`` picks our lookup or the paper's."""
    settings = RingSettings(lookup_failover=checked, successor_list_size=8)
    cluster = MemoryCluster(bits=32, seed=seed, settings=settings)
    cluster.place(cluster.random_ids(nodes))
    rng = random.Random(seed)
    ids = sorted(cluster.nodes)
    liars = sorted(rng.sample(ids, max(1, round(share * nodes))))
    for index, ident in enumerate(liars):
        node = cluster.nodes[ident]
        cluster.network.register(node.me, ring=Liar(node, LIES[index % len(LIES)]))
    oracle = cluster.oracle()
    honest = [i for i in ids if i not in set(liars)]
    wrong = failed = 0
    for _ in range(lookups):
        origin = cluster.nodes[rng.choice(honest)]
        key = rng.randrange(cluster.space.size)
        try:
            result = await origin.find_successor(key)
        except LookupFailed:
            failed += 1
            continue
        wrong += result.owner.id != oracle.successor(key)
    return AdversaryRow(nodes, len(liars), checked, lookups, wrong, failed)


async def adversary_report(
    shares: Sequence[float],
    *,
    nodes: int = 256,
    lookups: int = 2000,
    seed: int = 7,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """``chordshare sim adversary``: for each share of liars, the paper's plain lookup and our
    checked one on the same ring, liars and keys."""
    rows: list[Row] = []
    for share in shares:
        if not 0 < share < 1:
            raise ValueError(f"a share of liars must lie in (0, 1), got {share}")
        for checked in (False, True):
            row = await run_adversary(
                share, checked=checked, nodes=nodes, lookups=lookups, seed=seed
            )
            rows.append(
                {
                    "nodes": row.nodes,
                    "liars": row.liars,
                    "lookup": "checked" if checked else "plain",
                    "lookups": row.lookups,
                    "wrong_owners": row.wrong,
                    "failed_lookups": row.failed,
                }
            )
            if progress is not None:
                progress(f"adversary: f={share} {rows[-1]['lookup']}: {row.wrong} wrong")
    checked_rows = [r for r in rows if r["lookup"] == "checked"]
    wrong = sum(int(r["wrong_owners"]) for r in checked_rows)
    return Report(
        name="adversary",
        title="Lying nodes: lookups that name a wrong owner (plain = the paper's lookup)",
        rows=rows,
        setup=(
            f"{nodes} nodes, r = 8, m = 32; each liar answers FindSuccessorStep falsely "
            "(self-naming owner, out-of-interval answer or loop, round robin) and the rest "
            f"truthfully; {lookups} lookups from honest nodes to uniform keys; seed {seed}."
        ),
        targets=[Target("0 wrong owners with the checked lookup", f"{wrong} wrong", wrong == 0)],
    )
