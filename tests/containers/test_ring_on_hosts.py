"""A ring of 6 node containers: formation, lookups, a paused host, a 3|3 partition, a stop.

The tests share one ring (module fixture) and run in file order; each leaves the ring whole
again, except the last, which stops a node."""

from __future__ import annotations

import time

import pytest

from tests.containers.harness import (
    Cluster,
    Node,
    brute_force_owner,
    docker,
    form_ring,
    logs,
    wait_for,
    whole,
)

pytestmark = [
    pytest.mark.containers,
    pytest.mark.slow,
    pytest.mark.xdist_group("containers"),
    pytest.mark.timeout(300),
]

SIZE = 6
KEYS = [f"key-{i}" for i in range(24)]


@pytest.fixture(scope="module")
def ring(cluster: Cluster) -> list[Node]:
    return form_ring(cluster, SIZE)


def test_every_lookup_names_the_brute_force_owner(ring: list[Node]) -> None:
    ids = wait_for("ring", lambda: whole(ring[0], SIZE), 30)
    for i, key in enumerate(KEYS):
        answer = ring[i % SIZE].get(f"/api/v1/lookup/{key}")
        assert answer["owner"]["id"] == brute_force_owner(answer["key_id"], ids), key


def test_a_paused_host_is_routed_around_and_rejoins(ring: list[Node]) -> None:
    victim, observer = ring[3], ring[0]
    docker("pause", victim.name)
    began = time.monotonic()
    try:
        ids = wait_for("ring without the paused host", lambda: whole(observer, SIZE - 1), 90)
        print(f"\npaused host routed around in {time.monotonic() - began:.1f}s")
        walked = observer.get("/api/v1/ring")["nodes"]
        assert all(not p["grpc_address"].startswith(f"{victim.ip}:") for p in walked)
        answer = observer.get("/api/v1/lookup/after-pause")
        assert answer["owner"]["id"] == brute_force_owner(answer["key_id"], ids)
    finally:
        docker("unpause", victim.name)
    began = time.monotonic()
    wait_for("ring whole again", lambda: whole(observer, SIZE), 120)
    print(f"resumed host back in the ring in {time.monotonic() - began:.1f}s")


def test_a_three_three_partition_heals_into_one_ring(ring: list[Node]) -> None:
    left, right = ring[:3], ring[3:]
    rules = [(a, b) for a in left for b in right] + [(b, a) for a in left for b in right]
    for here, there in rules:
        here.iptables("-I", "INPUT", "-s", there.ip, "-j", "DROP")
    try:
        for side in (left, right):
            wait_for("each side its own ring", lambda s=side: whole(s[0], 3), 120)
    finally:
        for here, there in rules:
            here.iptables("-D", "INPUT", "-s", there.ip, "-j", "DROP")
    began = time.monotonic()
    ids = wait_for("one ring after the partition", lambda: whole(ring[0], SIZE), 180)
    print(f"\npartition healed in {time.monotonic() - began:.1f}s")
    for node in ring:
        wait_for(f"{node.name} sees the whole ring", lambda n=node: whole(n, SIZE), 60)
    for i, key in enumerate(KEYS):
        answer = ring[i % SIZE].get(f"/api/v1/lookup/{key}")
        assert answer["owner"]["id"] == brute_force_owner(answer["key_id"], ids), key


def test_docker_stop_leaves_gracefully(ring: list[Node]) -> None:
    leaving, observer = ring[5], ring[1]
    began = time.monotonic()
    docker("stop", "-t", "150", leaving.name, timeout=200)
    took = time.monotonic() - began
    assert docker("inspect", "-f", "{{.State.ExitCode}}", leaving.name) == "0"
    log = logs(leaving.name)
    assert "leaving the ring" in log
    assert "stopped (SIGTERM)" in log
    assert took < 150
    wait_for("ring of the rest", lambda: whole(observer, SIZE - 1), 30)
