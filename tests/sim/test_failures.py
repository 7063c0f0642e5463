"""Small version of ``chordshare sim failures``: half of a 512-node ring fails at once."""

from __future__ import annotations

import random

from chordshare.sim.cluster import MemoryCluster
from chordshare.sim.failures import failure_row
from chordshare.sim.keys import keys_per_node, random_keys
from chordshare.sim.protocol import Protocol, log_sized_successor_list
from chordshare.sim.report import Row

NODES = 512
FRACTION = 0.5
KEYS = 50_000
LOOKUPS = 1_000
SIGMAS = 3
"""Tolerance on lost keys: the exact standard deviation of the lost fraction over random failure
sets of this ring (``lost_sigma``, about 0.025 here, the keys being clustered on 512 arcs), times
3: a correct count misses it with chance 0.3%, a wrong k (p^2 or p^4) by 2.5 sigmas or more."""


async def half_fail(protocol: Protocol, rounds: int | None, seed: int = 11) -> Row:
    settings = protocol.settings(log_sized_successor_list(NODES))  # r = 2·log2 N = 18
    rng = random.Random(seed)
    cluster = MemoryCluster(160, settings, seed, yield_on_call=False)
    cluster.place(cluster.random_ids(NODES, rng))
    cluster.verify()
    counts = keys_per_node(sorted(cluster.nodes), random_keys(KEYS, 160, rng))
    row = await failure_row(
        cluster,
        FRACTION,
        counts,
        lookups=LOOKUPS,
        rounds=rounds,
        replicas=protocol.copies,
        rng=rng,
    )
    print(row)
    return row


async def test_lost_keys_with_three_replicas_are_close_to_p_cubed() -> None:
    row = await half_fail(Protocol(), rounds=1)
    assert row["replicas"] == 3
    assert abs(float(row["lost_keys"]) - FRACTION**3) <= SIGMAS * float(row["lost_sigma"])
    # One copy (the paper) loses about half the keys.
    unreplicated = float(row["lost_keys_unreplicated"])
    assert abs(unreplicated - FRACTION) <= 0.1
    assert float(row["lost_keys"]) < unreplicated / 2


async def test_converged_ring_routes_every_lookup_after_half_failed() -> None:
    """Once maintenance has repaired every successor list and finger, no lookup fails."""
    row = await half_fail(Protocol(), rounds=None)
    assert row["failed_lookups"] == 0
    assert 0 < int(row["rounds"]) < 40
    assert row["mean_timeouts"] == 0


async def test_paper_setup_after_stabilizing_fails_only_lost_keys() -> None:
    """The paper: after stabilization, lookups fail only for keys whose node died."""
    row = await half_fail(Protocol(paper=True), rounds=None)
    assert row["replicas"] == 1
    assert row["failed_lookups"] == 0
    assert row["lost_keys"] == row["lost_keys_unreplicated"]


async def test_no_routing_failure_three_rounds_after_half_failed() -> None:
    row = await half_fail(Protocol(), rounds=3)
    assert row["failed_lookups"] == 0
