"""Keys on a ring, counted exactly: who owns how many, and which are lost when nodes fail.

Pure counting over sorted ids (the oracle's view); nothing here routes. A key belongs to the
first node at or after it clockwise, and with replication factor k is also held by the owner's
next k - 1 successors, so it is lost only when all k of them failed.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Collection, Sequence


def random_keys(count: int, bits: int, rng: random.Random) -> list[int]:
    """``count`` uniform key ids, sorted (as SHA-1 of names are uniform)."""
    return sorted(rng.getrandbits(bits) for _ in range(count))


def keys_per_node(ring: Sequence[int], keys: Sequence[int]) -> list[int]:
    """Keys owned by each node of the sorted ``ring``: those in ``(ring[i-1], ring[i]]``."""
    if not ring:
        raise ValueError("an empty ring owns no keys")
    ends = [bisect.bisect_right(keys, ident) for ident in ring]
    counts = [ends[0] + len(keys) - ends[-1]]  # the arc through zero
    counts.extend(ends[i] - ends[i - 1] for i in range(1, len(ring)))
    return counts


def lost_fraction(
    ring: Sequence[int], counts: Sequence[int], failed: Collection[int], replicas: int
) -> float:
    """Fraction of keys whose owner and next ``replicas - 1`` successors (in ``ring``, the ring
    before the failure) all failed."""
    total = sum(counts)
    if total == 0:
        return 0.0
    dead = [ident in failed for ident in ring]
    n = len(ring)
    holders = min(replicas, n)
    lost = sum(
        count
        for i, count in enumerate(counts)
        if count and all(dead[(i + j) % n] for j in range(holders))
    )
    return lost / total


def expected_lost(fraction_failed: float, nodes: int, replicas: int) -> float:
    """Chance that k given nodes are all among the ``round(p·N)`` failed ones (sampling without
    replacement): p^k up to O(1/N)."""
    return _all_failed(nodes, round(fraction_failed * nodes), min(replicas, nodes))


def _all_failed(nodes: int, failed: int, size: int) -> float:
    """Chance that ``size`` given nodes are all among ``failed`` of ``nodes`` (no replacement)."""
    chance = 1.0
    for j in range(size):
        chance *= max(failed - j, 0) / (nodes - j)
    return chance


def lost_sigma(counts: Sequence[int], fraction_failed: float, replicas: int) -> float:
    """Standard deviation of :func:`lost_fraction` over random failure sets, for this ring.

    The lost fraction is ``sum_i w_i X_i``, with ``w_i`` node i's share of the keys and ``X_i``
    whether node i and its next k - 1 successors all failed. ``X_i`` and ``X_j`` at ring distance
    d need the union of their holders to fail: k + min(d, k) nodes, whose chance ``h`` follows
    from drawing ``round(p·N)`` failed nodes without replacement. So, exactly,
    ``Var = sum_i sum_j w_i w_j (h(k + min(d_ij, k)) - h(k)^2)`` (``d_ii = 0``), computed in
    O(N·k) by summing the pairs closer than k and treating all others alike."""
    nodes, total = len(counts), sum(counts)
    if total == 0 or nodes == 0:
        return 0.0
    k = min(replicas, nodes)
    failed = round(fraction_failed * nodes)
    w = [c / total for c in counts]
    q = _all_failed(nodes, failed, k)
    squares = sum(x * x for x in w)
    variance = squares * (q - q * q)
    near = 0.0
    if 2 * k <= nodes:
        for d in range(1, k):
            pairs = 2 * sum(w[i] * w[(i + d) % nodes] for i in range(nodes))
            near += pairs
            variance += pairs * (_all_failed(nodes, failed, k + d) - q * q)
        far = 1 - squares - near
        variance += far * (_all_failed(nodes, failed, 2 * k) - q * q)
    return float(max(variance, 0.0) ** 0.5)
