"""Lookup path length against ring size (Stoica et al. 2003, Fig. 10(a)).

For each N a converged ring of N real nodes is placed and verified; then random keys are looked
up from random nodes through the real lookup code, and the path lengths summarised.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

from chordshare.ring import DEFAULT_SUCCESSOR_LIST_SIZE
from chordshare.sim.cluster import MemoryCluster
from chordshare.sim.lookups import Tally, measure
from chordshare.sim.protocol import Protocol
from chordshare.sim.report import Report, Row, Target
from chordshare.sim.stats import percentile, rounded

DEFAULT_LOOKUPS = 10_000
"""Lookups per ring size: the 1st and 99th percentiles then rest on 100 lookups each."""

Progress = Callable[[str], None]


async def hops_row(
    nodes: int, lookups: int, protocol: Protocol, seed: int, bits: int
) -> tuple[Row, Tally]:
    settings = protocol.settings(DEFAULT_SUCCESSOR_LIST_SIZE)
    cluster = MemoryCluster(bits, settings, seed, yield_on_call=False)
    rng = random.Random(f"hops:{seed}:{nodes}")
    cluster.place(cluster.random_ids(nodes, rng))
    cluster.verify()
    ring = sorted(cluster.nodes)
    members = [cluster.nodes[i] for i in ring]
    tally = Tally()
    for _ in range(lookups):
        origin = members[rng.randrange(nodes)]
        tally.add(await measure(cluster.network, origin, rng.getrandbits(bits), ring))
    paths = sorted(tally.paths)
    row: Row = {
        "nodes": nodes,
        "mean": rounded(tally.mean_path),
        "p1": percentile(paths, 1),
        "p99": percentile(paths, 99),
        "lookups": lookups,
        "failed_lookups": tally.failed,
        "half_log2_n": rounded(math.log2(nodes) / 2),
    }
    return row, tally


async def run_hops(
    sizes: Sequence[int],
    *,
    lookups: int = DEFAULT_LOOKUPS,
    protocol: Protocol | None = None,
    seed: int = 0,
    bits: int = 160,
    progress: Progress | None = None,
) -> Report:
    protocol = protocol or Protocol()
    rows: list[Row] = []
    for nodes in sizes:
        if nodes < 2:
            raise ValueError("a ring for the hops experiment needs at least 2 nodes")
        row, _ = await hops_row(nodes, lookups, protocol, seed, bits)
        rows.append(row)
        if progress is not None:
            progress(f"hops: N={nodes} mean={row['mean']} p99={row['p99']}")
    settings = protocol.settings(DEFAULT_SUCCESSOR_LIST_SIZE)
    return Report(
        name="hops",
        title="Lookup path length (paper Fig. 10(a): mean about ½·log2 N)",
        rows=rows,
        setup=(
            f"{protocol.describe(settings)}; m = {bits}; {lookups} lookups of random keys from "
            f"random nodes per N; seed {seed}. Path = nodes visited, the owner included."
        ),
        targets=hops_targets(rows),
    )


def hops_targets(rows: Sequence[Row]) -> list[Target]:
    def log2n(row: Row) -> float:
        return math.log2(float(row["nodes"]))

    mean_ok = [float(r["mean"]) <= log2n(r) / 2 for r in rows]
    p99_ok = [float(r["p99"]) <= log2n(r) for r in rows]
    worst_mean = max(rows, key=lambda r: float(r["mean"]) / log2n(r))
    worst_p99 = max(rows, key=lambda r: float(r["p99"]) / log2n(r))
    failed = sum(int(r["failed_lookups"]) for r in rows)
    return [
        Target(
            "mean path ≤ ½·log2 N at every N",
            f"{sum(mean_ok)}/{len(rows)} sizes; tightest N={worst_mean['nodes']}: "
            f"{worst_mean['mean']} vs {log2n(worst_mean) / 2:.2f}",
            all(mean_ok),
        ),
        Target(
            "99th percentile ≤ log2 N at every N",
            f"{sum(p99_ok)}/{len(rows)} sizes; tightest N={worst_p99['nodes']}: "
            f"{worst_p99['p99']} vs {log2n(worst_p99):.2f}",
            all(p99_ok),
        ),
        Target("no failed lookup on a converged ring", f"{failed} failed", failed == 0),
    ]
