"""Small version of ``chordshare sim balance`` (paper Figs. 8 and 9)."""

from __future__ import annotations

import random

from chordshare.sim.balance import _arc_count, balance_row


def test_one_id_per_node_is_as_unbalanced_as_the_paper_says() -> None:
    row = balance_row(1000, 50_000, 1, seed=2, bits=160)
    print(row)
    assert row["mean"] == 50
    # Arcs of n uniform ids are about exponential: p99 ≈ ln(100) = 4.6x and max ≈ ln(n) = 6.9x
    # the mean at n = 1,000; the bounds allow the spread between seeds.
    assert 3.5 <= float(row["p99_over_mean"]) <= 6.0
    assert 5.0 <= float(row["max_over_mean"]) <= 12.0
    assert row["p1"] == 0 or int(row["p1"]) < 5  # the smallest arcs hold almost nothing


def test_twenty_virtual_nodes_bring_p99_near_the_papers_1_6x() -> None:
    row = balance_row(1000, 50_000, 20, seed=2, bits=160)
    print(row)
    # A node's share is then a sum of 20 arcs (a Gamma(20) law): p99 ≈ 1.6x the mean.
    assert 1.3 <= float(row["p99_over_mean"]) <= 1.9
    assert row["empty_nodes"] == 0


def test_counts_add_up_and_arcs_wrap() -> None:
    keys = sorted(random.Random(1).randrange(100) for _ in range(50))
    assert _arc_count(keys, None, 7) == 50
    assert _arc_count(keys, 30, 30) == 50
    assert _arc_count(keys, 10, 40) + _arc_count(keys, 40, 10) == 50
    row = balance_row(50, 1_000, 1, seed=3, bits=16)
    assert row["nodes"] == 50
    assert row["keys"] == 1_000
