"""Real node processes on loopback, each started as ``chordshare node --config FILE``: the ring
forms, lookups from every node agree with the oracle, crashes heal, leaves close the ring."""

from __future__ import annotations

import random
import signal
import time

import pytest

from chordshare.cli.launcher import LocalCluster
from tests.conftest import FAST
from tests.e2e.helpers import oracle, start_ring, walk_ids, wrong_lookups

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e"), pytest.mark.timeout(240)]

BITS = FAST["ring_bits"]
RING_TIMEOUT = 30.0


def test_eight_nodes_lookups_crashes_and_leaves(process_cluster: LocalCluster) -> None:
    cluster = process_cluster
    rng = random.Random(8)
    nodes = start_ring(cluster, 8, rng)
    took = cluster.wait_ring(nodes, BITS, RING_TIMEOUT)
    print(f"8 nodes: ring converged {took:.1f} s after all were ready")

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
    heal = cluster.wait_ring(survivors, BITS, RING_TIMEOUT)
    print(f"kill -9 of 2: ring correct again after {heal:.1f} s")
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


def test_sixteen_nodes_done_when(process_cluster: LocalCluster) -> None:
    """Issue 2, "Done when": 16 nodes with different seeds form one ring, 100 random keys looked
    up on random nodes match the oracle, and after kill -9 of 3 the ring of 13 is correct
    again within 10 stabilization periods."""
    cluster = process_cluster
    interval = 0.5
    periods = {
        "stabilize_interval": interval,
        "fix_fingers_interval": interval,
        "check_predecessor_interval": interval,
    }
    rng = random.Random(16)
    began = time.monotonic()
    nodes = start_ring(cluster, 16, rng, **periods)
    ready = time.monotonic()
    correct = cluster.wait_ring(nodes, BITS, 60.0, full=False)
    formed = correct + cluster.wait_ring(nodes, BITS, 60.0)
    print(
        f"16 nodes: ready {ready - began:.1f} s after launch; ring correct (successors, "
        f"predecessors, walk) {correct:.1f} s = {correct / interval:.1f} periods later, every "
        f"successor list exact {formed:.1f} s = {formed / interval:.1f} periods later"
    )
    assert len({tuple(n.seeds) for n in nodes}) >= 6  # many different seeds, not one hub

    truth = oracle(nodes, BITS)
    keys = [f"key-{rng.getrandbits(64):016x}" for _ in range(100)]
    asked = [rng.choice(nodes) for _ in keys]
    assert wrong_lookups(cluster, asked, keys, BITS, truth) == []

    victims = rng.sample(nodes, 3)
    for victim in victims:
        victim.kill()
    crashed = time.monotonic()
    survivors = [n for n in nodes if n.alive]
    cluster.wait_ring(survivors, BITS, 30.0, full=False)
    healed = time.monotonic() - crashed
    cluster.wait_ring(survivors, BITS, 30.0, full=True)
    converged = time.monotonic() - crashed
    print(
        f"kill -9 of 3: ring of 13 correct (successors, predecessors, walk) after {healed:.2f} s "
        f"= {healed / interval:.1f} stabilization periods; every successor list exact after "
        f"{converged:.2f} s = {converged / interval:.1f} periods"
    )
    assert healed <= 10 * interval, f"healed in {healed / interval:.1f} periods"
    truth = oracle(survivors, BITS)
    asked = [rng.choice(survivors) for _ in keys]
    assert wrong_lookups(cluster, asked, keys, BITS, truth) == []
