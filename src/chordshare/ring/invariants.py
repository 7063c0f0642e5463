"""Run-time checks of Zave's ring invariant and of full convergence.

``check_invariant`` is Zave's safety property (TSE 2017) and must hold after every step:
* successor lists are ordered clockwise from their owner, without the owner or duplicates;
* every live node has a live successor (when it is not alone);
* following each live node's first live successor leads, from every node, into one single cycle
  ("one ordered ring") that goes around the identifier circle exactly once; nodes not yet on the
  cycle (fresh joiners, "appendages") hang off it.

``check_converged`` is what stabilization must reach once churn stops: every successor list is
the true next r live nodes and every predecessor is the true predecessor.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping

from chordshare.ring.oracle import RingOracle
from chordshare.ring.table import RoutingTable


def _first_live(table: RoutingTable, alive: Callable[[int], bool]) -> int | None:
    return next((p.id for p in table.successors.peers() if alive(p.id)), None)


def check_invariant(tables: Mapping[int, RoutingTable]) -> list[str]:
    """Violations of the invariant over the live nodes ``tables`` (keyed by node id)."""
    problems: list[str] = []
    if not tables:
        return ["no live nodes"]
    space = next(iter(tables.values())).space

    def alive(ident: int) -> bool:
        return ident in tables

    for ident, table in tables.items():
        dists = [space.distance(ident, p.id) for p in table.successors.peers()]
        if any(d == 0 for d in dists):
            problems.append(f"{space.short(ident)}: successor list holds itself")
        if dists != sorted(set(dists)):
            problems.append(f"{space.short(ident)}: successor list not ordered or has duplicates")
        if len(tables) > 1 and _first_live(table, alive) is None:
            problems.append(f"{space.short(ident)}: no live successor")
    if problems or len(tables) == 1:
        return problems
    best = {i: _first_live(t, alive) for i, t in tables.items()}
    # Walk each chain once (linear time): every node is labelled with the cycle its chain
    # reaches; a walk stops at the first node already labelled or seen on this walk.
    cycle_of: dict[int, int] = {}
    cycles: list[frozenset[int]] = []
    for start in tables:
        if start in cycle_of:
            continue
        path: dict[int, int] = {}
        node: int | None = start
        while node is not None and node not in cycle_of and node not in path:
            path[node] = len(path)
            node = best[node]
        if node is None:
            problems.append(f"{space.short(start)}: successor chain ends")
            label = -1
        elif node in cycle_of:
            label = cycle_of[node]
        else:  # closed a new cycle on this walk
            label = len(cycles)
            cycles.append(frozenset(list(path)[path[node] :]))
        for ident in path:
            cycle_of[ident] = label
    if len(cycles) != 1:
        problems.append(f"{len(cycles)} rings instead of one")
        return problems
    (members,) = cycles
    loop = 0
    for ident in members:
        nxt = best[ident]
        assert nxt is not None  # every cycle member has a successor by construction
        loop += space.distance(ident, nxt)
    if loop != space.size:
        problems.append(f"ring is not ordered: goes {loop / space.size:.2f} times around")
    return problems


def check_converged(tables: Mapping[int, RoutingTable]) -> list[str]:
    """Violations of full convergence (implies the invariant)."""
    problems = check_invariant(tables)
    if problems:
        return problems
    space = next(iter(tables.values())).space
    oracle = RingOracle(space, tables)
    for ident, table in tables.items():
        want = oracle.successors(ident, table.successors.size)
        have = [p.id for p in table.successors.peers()]
        if have != want:
            problems.append(f"{space.short(ident)}: successor list differs from the true one")
        pred = table.predecessor.id if table.predecessor is not None else None
        true_pred = oracle.predecessor(ident) if len(oracle) > 1 else None
        if pred != true_pred:
            problems.append(f"{space.short(ident)}: predecessor differs from the true one")
    return problems


def finger_problems(tables: Mapping[int, RoutingTable]) -> list[str]:
    """Fingers that are not ``successor(n + 2**i)`` (``None`` where that is the node itself),
    missing entries included. Bisects only where the true finger can change: 2**i past the
    previous true finger (about log2 N times per node instead of m)."""
    if not tables:
        return []
    space = next(iter(tables.values())).space
    ring = sorted(tables)
    problems: list[str] = []
    for ident, table in tables.items():
        entries = table.fingers.entries()
        index = 0
        while index < space.bits:
            owner = ring[bisect.bisect_left(ring, space.finger_start(ident, index)) % len(ring)]
            reach = space.distance(ident, owner) or space.size
            end = space.bits if owner == ident else max(index + 1, reach.bit_length())
            want = None if owner == ident else owner
            for i in range(index, min(end, space.bits)):
                entry = entries[i]
                if (None if entry is None else entry.id) != want:
                    problems.append(f"{space.short(ident)}: finger {i} is not the true one")
            index = end
    return problems


def wrong_fingers(tables: Mapping[int, RoutingTable]) -> int:
    """How many fingers differ from the true ones (see :func:`finger_problems`)."""
    return len(finger_problems(tables))
