"""Small version of ``chordshare sim hops``: path length on a 1,024-node ring (paper Fig. 10)."""

from __future__ import annotations

import math

from chordshare.sim.hops import hops_row, run_hops
from chordshare.sim.protocol import Protocol

NODES = 1024
LOOKUPS = 2000
"""Enough for a stable mean (its standard error is about 0.03 hops) in well under a second."""


async def test_mean_path_is_at_most_half_log2_n_with_our_protocol() -> None:
    row, tally = await hops_row(NODES, LOOKUPS, Protocol(), seed=1, bits=160)
    print(f"N={NODES}: mean {row['mean']}, p1 {row['p1']}, p99 {row['p99']}")
    assert tally.lookups == LOOKUPS
    assert row["failed_lookups"] == 0
    assert float(row["mean"]) <= math.log2(NODES) / 2
    assert float(row["p99"]) <= math.log2(NODES)
    # Successor-list routing resolves the last r nodes at once: about one hop under the paper.
    assert float(row["mean"]) <= math.log2(NODES) / 2 - 0.5


async def test_paper_setup_reproduces_half_log2_n() -> None:
    row, _ = await hops_row(NODES, LOOKUPS, Protocol(paper=True), seed=1, bits=160)
    print(f"paper setup, N={NODES}: mean {row['mean']}, p99 {row['p99']}")
    assert row["failed_lookups"] == 0
    # The paper measures about ½·log2 N (5 at 1,024); finger-only routing lands within 15%.
    assert abs(float(row["mean"]) - math.log2(NODES) / 2) <= 0.15 * math.log2(NODES) / 2
    assert float(row["p99"]) <= math.log2(NODES)


async def test_sweep_is_deterministic_and_meets_its_targets() -> None:
    first = await run_hops([8, 64, 256], lookups=300, seed=5)
    again = await run_hops([8, 64, 256], lookups=300, seed=5)
    assert first.rows == again.rows
    assert [r["nodes"] for r in first.rows] == [8, 64, 256]
    assert all(t.met for t in first.targets), first.targets
