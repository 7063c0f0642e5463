"""The linear-time checks of ``chordshare.ring.invariants`` agree with a brute-force reference,
and ``place()`` builds exactly the converged ring."""

from __future__ import annotations

import random

import pytest

from chordshare.ring import PeerRef, RoutingTable
from chordshare.ring.invariants import check_converged, check_invariant, finger_problems
from chordshare.ring.oracle import RingOracle
from chordshare.sim.cluster import MemoryCluster


def reference_invariant(tables: dict[int, RoutingTable]) -> list[str]:
    """Brute force: walk the whole chain from every node (quadratic), as the definition reads."""
    space = next(iter(tables.values())).space
    problems: list[str] = []
    best: dict[int, int | None] = {}
    for ident, table in tables.items():
        dists = [space.distance(ident, p.id) for p in table.successors.peers()]
        if 0 in dists:
            problems.append(f"{space.short(ident)}: successor list holds itself")
        if dists != sorted(set(dists)):
            problems.append(f"{space.short(ident)}: successor list not ordered or has duplicates")
        best[ident] = next((p.id for p in table.successors.peers() if p.id in tables), None)
        if len(tables) > 1 and best[ident] is None:
            problems.append(f"{space.short(ident)}: no live successor")
    if problems or len(tables) == 1:
        return problems
    cycles = set()
    for start in tables:
        seen: list[int] = []
        node: int | None = start
        while node is not None and node not in seen:
            seen.append(node)
            node = best[node]
        assert node is not None
        cycles.add(frozenset(seen[seen.index(node) :]))
    if len(cycles) != 1:
        return [f"{len(cycles)} rings instead of one"]
    (members,) = cycles
    loop = sum(space.distance(i, best[i] or 0) for i in members if best[i] is not None)
    if loop != space.size:
        problems.append(f"ring is not ordered: goes {loop / space.size:.2f} times around")
    return problems


def reference_fingers(tables: dict[int, RoutingTable]) -> int:
    """Brute force: one oracle lookup per finger."""
    space = next(iter(tables.values())).space
    oracle = RingOracle(space, tables)
    wrong = 0
    for ident, table in tables.items():
        for i, entry in enumerate(table.fingers.entries()):
            owner = oracle.finger(ident, i)
            want = None if owner == ident else owner
            wrong += (None if entry is None else entry.id) != want
    return wrong


@pytest.mark.parametrize("count", [1, 2, 3, 5, 17, 40])
def test_place_builds_the_converged_ring(count: int) -> None:
    cluster = MemoryCluster(bits=16, seed=count)
    cluster.place(cluster.random_ids(count, random.Random(count)))
    tables = cluster.tables()
    assert check_converged(tables) == []
    assert reference_fingers(tables) == 0
    assert finger_problems(tables) == []
    cluster.verify(fingers=True)


def test_place_matches_the_oracle_at_full_width() -> None:
    cluster = MemoryCluster(bits=160, seed=1)
    cluster.place(cluster.random_ids(64, random.Random(1)))
    assert check_converged(cluster.tables()) == []
    assert reference_fingers(cluster.tables()) == 0
    assert finger_problems(cluster.tables()) == []


def _peer(cluster: MemoryCluster, ident: int) -> PeerRef:
    return cluster.nodes[ident].me


def test_checks_agree_on_broken_rings() -> None:
    """Random damage (dropped, reordered, foreign and self entries, crashed nodes, wrong
    predecessors, split rings): both checkers report the same problems, in the same order."""
    rng = random.Random(7)
    broken = 0
    for trial in range(150):
        cluster = MemoryCluster(bits=12, seed=trial)
        cluster.place(cluster.random_ids(rng.randint(2, 24), rng))
        ids = sorted(cluster.nodes)
        for _ in range(rng.randint(1, 3)):
            victim = cluster.nodes[rng.choice(ids)].table
            damage = rng.randrange(6)
            if damage == 0:
                victim.successors._peers = victim.successors._peers[1:]
            elif damage == 1:
                rng.shuffle(victim.successors._peers)
            elif damage == 2:
                victim.successors._peers.append(_peer(cluster, rng.choice(ids)))
            elif damage == 3:
                victim.predecessor = _peer(cluster, rng.choice(ids))
            elif damage == 4 and len(cluster.nodes) > 2:
                cluster.crash(cluster.nodes[rng.choice(sorted(cluster.nodes))])
                ids = sorted(cluster.nodes)
            else:
                # Split: point the first half at itself, the second half at itself.
                half = len(ids) // 2
                for part in (ids[:half], ids[half:]):
                    for i, ident in enumerate(part):
                        nxt = part[(i + 1) % len(part)]
                        if nxt != ident:
                            cluster.nodes[ident].table.successors.replace([_peer(cluster, nxt)])
        tables = cluster.tables()
        assert check_invariant(tables) == reference_invariant(tables)
        assert len(finger_problems(tables)) == reference_fingers(tables)
        broken += bool(check_invariant(tables))
    assert broken > 30  # the damage did break many rings: the agreement is not vacuous


def test_verify_raises_on_a_wrong_finger() -> None:
    cluster = MemoryCluster(bits=16, seed=3)
    cluster.place(cluster.random_ids(10, random.Random(3)))
    ids = sorted(cluster.nodes)
    cluster.nodes[ids[0]].table.fingers.set(15, _peer(cluster, ids[1]))
    cluster.verify()  # successors and predecessors are still right
    with pytest.raises(AssertionError, match="finger"):
        cluster.verify(fingers=True)
