"""Real node processes on loopback, each started as ``chordshare node --config FILE``: the ring
forms, lookups from every node agree with the oracle, crashes heal, leaves close the ring."""

from __future__ import annotations

import random
import signal

import pytest

from chordshare.cli.launcher import LocalCluster
from tests.conftest import FAST
from tests.e2e.helpers import oracle, start_ring, walk_ids, wrong_lookups

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e"), pytest.mark.timeout(240)]

BITS = FAST["ring_bits"]
RING_TIMEOUT = 30.0
"""Seconds a ring of a few nodes may take to become correct before the test fails: a bound on
a broken run, not a measurement (a healthy ring needs a few stabilization periods)."""
FORM_TIMEOUT = 60.0
"""The same bound for 16 nodes at a 0.5 s period on a loaded machine."""


def test_eight_nodes_lookups_crashes_and_leaves(process_cluster: LocalCluster) -> None:
    cluster = process_cluster
    rng = random.Random(8)
    nodes = start_ring(cluster, 8, rng)
    cluster.wait_ring(nodes, BITS, RING_TIMEOUT)

    truth = oracle(nodes, BITS)
    keys = [f"file-{i}.dat" for i in range(12)]
    for node in nodes:  # every node answers every key like the oracle
        assert wrong_lookups(cluster, [node] * len(keys), keys, BITS, truth) == []
    for node in nodes:  # and walks the ring in id order from where it stands
        walked = walk_ids(cluster, node)
        assert sorted(walked) == truth.ids
        start = truth.ids.index(walked[0])
        assert walked == truth.ids[start:] + truth.ids[:start]

    # kill -9 two nodes: the other six heal.
    for victim in (nodes[2], nodes[5]):
        victim.kill()
        assert victim.returncode == -signal.SIGKILL
    survivors = [n for n in nodes if n.alive]
    cluster.wait_ring(survivors, BITS, RING_TIMEOUT)
    truth = oracle(survivors, BITS)
    assert wrong_lookups(cluster, survivors, keys[: len(survivors)], BITS, truth) == []

    # Graceful leave over REST: the process exits 0 and the ring closes without it.
    leaver = survivors[1]
    accepted = cluster.http.post(f"{leaver.url}/api/v1/leave")
    assert accepted.status_code == 202
    assert leaver.wait(15) == 0
    survivors.remove(leaver)
    cluster.wait_ring(survivors, BITS, RING_TIMEOUT)

    # SIGTERM: the same graceful path.
    termed = survivors[2]
    termed.terminate()
    assert termed.wait(15) == 0
    survivors.remove(termed)
    cluster.wait_ring(survivors, BITS, RING_TIMEOUT)
    assert len(walk_ids(cluster, survivors[0])) == 4
    assert "leaving the ring (SIGTERM)" in termed.log_path.read_text()


def test_sixteen_nodes_form_one_ring_and_heal_three_crashes(
    process_cluster: LocalCluster,
) -> None:
    """16 nodes with different seeds form one ring, 100 random keys looked up on random nodes
    match the oracle, and after kill -9 of 3 the ring of 13 is correct again. How many
    stabilization periods healing takes is checked on virtual time, where it is deterministic
    (tests/node/test_maintenance_clock.py); here the deadlines only bound a failing run."""
    cluster = process_cluster
    interval = 0.5
    periods = {
        "stabilize_interval": interval,
        "fix_fingers_interval": interval,
        "check_predecessor_interval": interval,
    }
    rng = random.Random(16)
    nodes = start_ring(cluster, 16, rng, **periods)
    cluster.wait_ring(nodes, BITS, FORM_TIMEOUT, full=False)
    cluster.wait_ring(nodes, BITS, FORM_TIMEOUT)
    assert len({tuple(n.seeds) for n in nodes}) >= 6  # many different seeds, not one hub

    truth = oracle(nodes, BITS)
    keys = [f"key-{rng.getrandbits(64):016x}" for _ in range(100)]
    asked = [rng.choice(nodes) for _ in keys]
    assert wrong_lookups(cluster, asked, keys, BITS, truth) == []

    victims = rng.sample(nodes, 3)
    for victim in victims:
        victim.kill()
    survivors = [n for n in nodes if n.alive]
    assert len(survivors) == 13
    cluster.wait_ring(survivors, BITS, FORM_TIMEOUT, full=False)
    cluster.wait_ring(survivors, BITS, FORM_TIMEOUT, full=True)
    truth = oracle(survivors, BITS)
    asked = [rng.choice(survivors) for _ in keys]
    assert wrong_lookups(cluster, asked, keys, BITS, truth) == []
