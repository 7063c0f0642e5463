"""Exact key counting: owners, lost keys with k replicas, and the sampling error used as the
tolerance of the failure tests."""

from __future__ import annotations

import random

import pytest

from chordshare.sim.keys import expected_lost, keys_per_node, lost_fraction, lost_sigma


def test_keys_per_node_by_brute_force() -> None:
    rng = random.Random(4)
    ring = sorted(rng.sample(range(1000), 20))
    keys = sorted(rng.randrange(1000) for _ in range(500))
    counts = keys_per_node(ring, keys)
    assert sum(counts) == 500
    for i, ident in enumerate(ring):
        owner_of = [next((n for n in ring if n >= k), ring[0]) for k in keys]
        assert counts[i] == owner_of.count(ident)


def test_lost_needs_every_holder_dead() -> None:
    ring = [10, 20, 30, 40, 50]
    counts = [1, 1, 1, 1, 1]
    assert lost_fraction(ring, counts, {20}, 1) == pytest.approx(0.2)
    assert lost_fraction(ring, counts, {20}, 2) == 0
    assert lost_fraction(ring, counts, {20, 30}, 2) == pytest.approx(0.2)  # keys of 20
    assert lost_fraction(ring, counts, {50, 10}, 2) == pytest.approx(0.2)  # wraps: keys of 50
    assert lost_fraction(ring, counts, set(ring), 3) == 1


def test_expected_loss_and_its_spread_match_a_monte_carlo() -> None:
    rng = random.Random(9)
    ring = sorted(rng.sample(range(10**9), 400))
    counts = keys_per_node(ring, sorted(rng.randrange(10**9) for _ in range(20_000)))
    samples = [lost_fraction(ring, counts, set(rng.sample(ring, 200)), 3) for _ in range(400)]
    mean = sum(samples) / len(samples)
    spread = (sum((s - mean) ** 2 for s in samples) / len(samples)) ** 0.5
    assert mean == pytest.approx(expected_lost(0.5, 400, 3), abs=0.01)
    print(f"spread {spread:.4f}, predicted {lost_sigma(counts, 0.5, 3):.4f}")
    assert spread == pytest.approx(lost_sigma(counts, 0.5, 3), rel=0.15)  # 400 draws: ±7%
