"""The error of a node's ring size estimate (``estimated_nodes`` of ``GET /api/v1/node``).

A node estimates N from the density of its successor list (``ChordNode.estimated_ring_size``):
its r successors span a clockwise distance d, so N ≈ r·2^m / d (a list that is not full holds
the whole rest of the ring, so N is then known exactly). This places converged rings of N real
nodes at ids drawn uniformly (as SHA-1 of addresses are), asks every node for its estimate, and
compares with the true N: the mean and worst relative error over all nodes, the worst
underestimate (what matters for the lookup hop limit, about 2·log2 of the estimate, which an
underestimate tightens) and the mean signed error (the bias: r·2^m/d overestimates by r/(r-1)
on average, since d follows a Gamma(r) law).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from chordshare.node.ring.settings import RingSettings
from chordshare.ring import DEFAULT_SUCCESSOR_LIST_SIZE
from chordshare.sim.cluster import MemoryCluster
from chordshare.sim.report import Report, Row, Target
from chordshare.sim.stats import rounded

DEFAULT_SIZES = (8, 32, 128, 512, 1024)
DEFAULT_RINGS = 4
"""Rings placed per N: the estimate of a node depends on where its r successors fell, so the
figures are over N x rings estimates."""

Progress = Callable[[str], None]


def estimate_row(nodes: int, successors: int, rings: int, seed: int, bits: int) -> Row:
    errors: list[float] = []
    for ring in range(rings):
        cluster = MemoryCluster(bits, RingSettings(successor_list_size=successors), seed)
        rng = random.Random(f"estimate:{seed}:{nodes}:{ring}")
        cluster.place(cluster.random_ids(nodes, rng))
        errors += [(n.estimated_ring_size() - nodes) / nodes for n in cluster.nodes.values()]
    absolute = sorted(abs(e) for e in errors)
    return {
        "nodes": nodes,
        "mean_error": rounded(sum(absolute) / len(absolute)),
        "worst_error": rounded(absolute[-1]),
        "p90_error": rounded(absolute[int(0.9 * (len(absolute) - 1))]),
        "worst_under": rounded(max(0.0, -min(errors))),
        "bias": rounded(sum(errors) / len(errors)),
        "estimates": len(errors),
    }


def run_estimate(
    sizes: Sequence[int] = DEFAULT_SIZES,
    *,
    successors: int = DEFAULT_SUCCESSOR_LIST_SIZE,
    rings: int = DEFAULT_RINGS,
    seed: int = 0,
    bits: int = 160,
    progress: Progress | None = None,
) -> Report:
    rows: list[Row] = []
    for nodes in sizes:
        if nodes < 1:
            raise ValueError("a ring needs at least 1 node")
        row = estimate_row(nodes, successors, rings, seed, bits)
        rows.append(row)
        if progress is not None:
            progress(f"estimate: N={nodes} mean={row['mean_error']} worst={row['worst_error']}")
    exact = [r for r in rows if int(r["nodes"]) <= successors]
    return Report(
        name="estimate",
        title="Ring size estimate from successor density: relative error against the true N",
        rows=rows,
        setup=(
            f"r = {successors} successors; m = {bits}; {rings} rings of uniform random ids per "
            f"N, every node's estimate; seed {seed}. Error = |estimate - N| / N; bias = mean of "
            "(estimate - N) / N."
        ),
        targets=[
            Target(
                "exact while N <= r (the list holds the whole rest of the ring)",
                f"worst {max((float(r['worst_error']) for r in exact), default=0.0)} "
                f"over {len(exact)} sizes",
                all(float(r["worst_error"]) == 0 for r in exact),
            )
        ],
    )
