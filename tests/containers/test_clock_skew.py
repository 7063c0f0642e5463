"""Hosts whose wall clocks are wrong: one 20 minutes ahead, one 20 minutes behind.

The skew is real for the node's process: libfaketime (the host's, mounted read-only) is preloaded
into the container with a fixed offset on CLOCK_REALTIME only, so ``time.time()`` and file
times are off while the monotonic clock, which every timer and deadline of the node uses, is
not (``FAKETIME_DONT_FAKE_MONOTONIC``), as on a host whose NTP is broken.

Ring upkeep does not read the wall clock. Provider records carry absolute expiry times: an
entry expires when its provider's clock says, cut by the holder that keeps it to the holder's own
now + provider TTL + the allowed skew. So an entry from a clock behind expires early by the skew
(it stays found while the skew is below provider_ttl - republish_interval, 20 minutes with the
defaults, because the provider republishes before), and a clock ahead gains at most the allowed
skew at each holder whose clock is right."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import httpx
import pytest

from tests.containers.harness import Cluster, Node, brute_force_owner, docker, wait_for, whole

pytestmark = [
    pytest.mark.containers,
    pytest.mark.slow,
    pytest.mark.xdist_group("containers"),
    pytest.mark.timeout(300),
]

FAKETIME_DIR = "/usr/lib/x86_64-linux-gnu/faketime"
SKEW = 1200
PROVIDER_TTL = 1800.0
MAX_CLOCK_SKEW = 60.0
SHARED = "/var/lib/chordshare/shared"
OFFSETS = (0, SKEW, -SKEW, 0)
"""Clock offset of each node of the ring fixture, in its order."""


def skewed(offset: int) -> tuple[dict[str, str], tuple[str, ...]]:
    env = {
        "LD_PRELOAD": "/opt/faketime/libfaketimeMT.so.1",
        "FAKETIME": f"{offset:+d}",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "FAKETIME_DONT_RESET": "1",
    }
    return env, ("-v", f"{FAKETIME_DIR}:/opt/faketime:ro")


@pytest.fixture(scope="module")
def ring(cluster: Cluster) -> list[Node]:
    assert Path(FAKETIME_DIR, "libfaketimeMT.so.1").exists(), (
        "libfaketime is missing: .ci/container-engine.sh install adds it"
    )
    first = cluster.start("n0", [])
    wait_for("first node ready", lambda: first.ready() or None, 60)
    seed = [f"http://{first.ip}:8000"]
    ahead = cluster.start("ahead", seed, *skewed(+SKEW))
    behind = cluster.start("behind", seed, *skewed(-SKEW))
    last = cluster.start("n3", seed)
    nodes = [first, ahead, behind, last]
    for node in nodes:
        wait_for(f"ring of 4 seen from {node.name}", lambda n=node: whole(n, 4), 90)
    return nodes


def test_the_skew_is_real_inside_the_containers(ring: list[Node]) -> None:
    _, ahead, behind, _ = ring
    script = "import time; print(time.time(), time.monotonic())"
    for node, offset in ((ahead, SKEW), (behind, -SKEW)):
        wall, mono = map(float, node.exec("python3", "-c", script).split())
        assert abs(wall - time.time() - offset) < 30, node.name
        host_mono = float(ring[0].exec("python3", "-c", script).split()[1])
        assert abs(mono - host_mono) < 30, node.name  # one kernel: same monotonic clock


def test_lookups_are_right_with_skewed_hosts(ring: list[Node]) -> None:
    ids = wait_for("ring", lambda: whole(ring[0], 4), 30)
    for i in range(16):
        answer = ring[i % 4].get(f"/api/v1/lookup/skew-{i}")
        assert answer["owner"]["id"] == brute_force_owner(answer["key_id"], ids)


@pytest.mark.parametrize(("sharer_index", "offset"), [(1, SKEW), (2, -SKEW)])
def test_files_of_a_skewed_host_are_found_with_clamped_expiry(
    ring: list[Node], tmp_path: Path, sharer_index: int, offset: int
) -> None:
    sharer, reader = ring[sharer_index], ring[3]
    name = f"skew{'ahead' if offset > 0 else 'behind'}.bin"
    body = os.urandom(512 * 1024 + 3)
    source = tmp_path / name
    source.write_bytes(body)
    docker("cp", str(source), f"{sharer.name}:{SHARED}/{name}")

    def entry() -> dict[str, float] | None:
        reply = httpx.get(f"{reader.url}/api/v1/network/files/{name}", timeout=10)
        if reply.status_code == 404:
            return None
        reply.raise_for_status()
        for record in reply.json()["records"]:
            for provider in record["providers"]:
                if provider["grpc_address"].startswith(f"{sharer.ip}:"):
                    return {"expires_at": provider["expires_at"], "size": record["size"]}
        return None

    found = wait_for(f"{name} from the skewed host", entry, 90)
    assert found["size"] == len(body)
    # The record read is the owner's: its expiry is in the owner's clock.
    owner_id = reader.get(f"/api/v1/lookup/{name}")["owner"]["id"]
    offsets = {n.get("/api/v1/node")["id"]: off for n, off in zip(ring, OFFSETS, strict=True)}
    owner_offset = offsets[owner_id]
    claimed = offset + PROVIDER_TTL
    cut = owner_offset + PROVIDER_TTL + MAX_CLOCK_SKEW
    left = found["expires_at"] - time.time()
    assert min(claimed, cut) - 90 < left <= min(claimed, cut) + 5, (owner_offset, left)
    print(f"\n{name}: clock {offset:+d}s, owner's {owner_offset:+d}s: expires in {left:.0f}s")
    got = httpx.get(f"{reader.url}/api/v1/network/files/{name}/content", timeout=60)
    assert got.status_code == 200
    assert hashlib.sha256(got.content).digest() == hashlib.sha256(body).digest()
