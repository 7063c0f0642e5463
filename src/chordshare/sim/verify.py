"""Linear-time twins of ``chordshare.ring.invariants`` for the simulator's large rings.

``check_invariant`` finds the successor cycle by walking the whole chain from every node and
testing membership in a list, which is cubic in N (6 s at 1,024 nodes; hours at 16,384). The
functions here check the same properties with the same messages, following each chain once
(``tests/sim/test_verify.py`` checks that both agree on valid and broken rings).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping

from chordshare.ring import RoutingTable
from chordshare.ring.oracle import RingOracle


def invariant_problems(tables: Mapping[int, RoutingTable]) -> list[str]:
    """Exactly ``check_invariant(tables)``, in O(N·r)."""
    problems: list[str] = []
    if not tables:
        return ["no live nodes"]
    space = next(iter(tables.values())).space
    best: dict[int, int] = {}
    for ident, table in tables.items():
        peers = table.successors.peers()
        dists = [space.distance(ident, p.id) for p in peers]
        if any(d == 0 for d in dists):
            problems.append(f"{space.short(ident)}: successor list holds itself")
        if dists != sorted(set(dists)):
            problems.append(f"{space.short(ident)}: successor list not ordered or has duplicates")
        first = next((p.id for p in peers if p.id in tables), None)
        if first is not None:
            best[ident] = first
        elif len(tables) > 1:
            problems.append(f"{space.short(ident)}: no live successor")
    if problems or len(tables) == 1:
        return problems
    # Every node has a live successor, so each chain ends in a cycle. Colour the nodes: a walk
    # stops at the first node already coloured; if that node was coloured by this very walk, the
    # walk closed a new cycle.
    cycle_of: dict[int, int] = {}
    cycles: list[list[int]] = []
    for start in tables:
        if start in cycle_of:
            continue
        walk: list[int] = []
        position: dict[int, int] = {}
        node = start
        while node not in cycle_of and node not in position:
            position[node] = len(walk)
            walk.append(node)
            node = best[node]
        if node in position:
            cycles.append(walk[position[node] :])
            found = len(cycles) - 1
        else:
            found = cycle_of[node]
        for member in walk:
            cycle_of[member] = found
    if len(cycles) != 1:
        problems.append(f"{len(cycles)} rings instead of one")
        return problems
    loop = sum(space.distance(ident, best[ident]) for ident in cycles[0])
    if loop != space.size:
        problems.append(f"ring is not ordered: goes {loop / space.size:.2f} times around")
    return problems


def converged_problems(tables: Mapping[int, RoutingTable]) -> list[str]:
    """Exactly ``check_converged(tables)``, in O(N·r)."""
    problems = invariant_problems(tables)
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
    """Fingers that are not ``successor(n + 2**i)`` (``None`` where that is the node itself).

    Unlike ``wrong_fingers`` this also flags missing entries, and bisects only at the starts
    where the true finger can change (2**i past the previous true finger)."""
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
