"""Files across node containers: a shared file found and fetched from another container and
through the published REST port; an upload that survives `docker stop` of one of its holders.

The tests share one ring of 4 (module fixture) and run in file order."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.containers.harness import Cluster, Node, docker, form_ring, logs, wait_for, whole

pytestmark = [
    pytest.mark.containers,
    pytest.mark.slow,
    pytest.mark.xdist_group("containers"),
    pytest.mark.timeout(300),
]

SIZE = 4
TOKEN = "container-test-token-0123456789abcdef"
SHARED = "/var/lib/chordshare/shared"


@pytest.fixture(scope="module")
def ring(cluster: Cluster) -> list[Node]:
    return form_ring(cluster, SIZE, {"CHORDSHARE_API_TOKEN": TOKEN})


def network_record(node: Node, name: str) -> dict[str, Any] | None:
    """The name's one record as ``node`` finds it in the network, or None while it finds none."""
    reply = httpx.get(f"{node.url}/api/v1/network/files/{name}", timeout=10)
    if reply.status_code == 404:
        return None
    reply.raise_for_status()
    records = reply.json()["records"]
    return records[0] if len(records) == 1 else None


def fetch_sha256(node: Node, name: str) -> str:
    """SHA-256 of the bytes ``node`` serves for ``name`` at its REST content route."""
    digest = hashlib.sha256()
    url = f"{node.url}/api/v1/network/files/{name}/content"
    with httpx.stream("GET", url, timeout=60) as reply:
        reply.raise_for_status()
        for chunk in reply.iter_bytes():
            digest.update(chunk)
    return digest.hexdigest()


def test_a_shared_file_is_found_and_fetched_from_another_host(
    ring: list[Node], tmp_path: Path
) -> None:
    sharer, fetcher, entry = ring[0], ring[2], ring[3]
    body = os.urandom(6 * 1024 * 1024 + 12345)
    expected = hashlib.sha256(body).hexdigest()
    source = tmp_path / "random6.bin"
    source.write_bytes(body)
    docker("cp", str(source), f"{sharer.name}:{SHARED}/random6.bin")
    began = time.monotonic()
    record = wait_for(
        "the shared file in the network",
        lambda: (r := network_record(fetcher, "random6.bin")) and r["size"] == len(body) and r,
        90,
    )
    print(f"\nshared file found from another container in {time.monotonic() - began:.1f}s")
    assert any(p["grpc_address"].startswith(f"{sharer.ip}:") for p in record["providers"])

    fetcher.exec("chordshare", "get", "random6.bin", "--node", "http://127.0.0.1:8000",
                 "-o", "/tmp/random6.bin", "--json")  # fmt: skip
    copied = fetcher.exec("sha256sum", "/tmp/random6.bin").split()[0]
    assert copied == expected

    assert fetch_sha256(entry, "random6.bin") == expected


def test_docker_stop_of_a_holder_loses_nothing(ring: list[Node]) -> None:
    uploader = ring[1]
    body = os.urandom(3 * 1024 * 1024 + 77)
    expected = hashlib.sha256(body).hexdigest()
    reply = httpx.put(
        f"{uploader.url}/api/v1/network/files/kept.bin",
        content=body,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/octet-stream"},
        timeout=120,
    )
    assert reply.status_code in (200, 201), reply.text
    holder_ips = {peer["grpc_address"].rsplit(":", 1)[0] for peer in reply.json()["holders"]}
    assert len(holder_ips) >= 3, reply.json()
    leaving = next(n for n in ring if n.ip in holder_ips and n is not uploader)
    rest = [n for n in ring if n is not leaving]

    began = time.monotonic()
    docker("stop", "-t", "150", leaving.name, timeout=200)
    took = time.monotonic() - began
    print(f"\nholder {leaving.name} left in {took:.1f}s")
    assert docker("inspect", "-f", "{{.State.ExitCode}}", leaving.name) == "0"
    assert "leaving the ring" in logs(leaving.name)
    wait_for("ring of the rest", lambda: whole(rest[0], SIZE - 1), 60)

    def pinned_without_the_leaver() -> list[str] | None:
        record = network_record(rest[0], "kept.bin")
        if record is None:
            return None
        live = [
            p["grpc_address"]
            for p in record["providers"]
            if p.get("pinned") and not p["grpc_address"].startswith(f"{leaving.ip}:")
        ]
        return live if len(live) >= 3 else None

    wait_for("3 pinned holders after the stop", pinned_without_the_leaver, 60)
    for node in rest:
        assert fetch_sha256(node, "kept.bin") == expected, node.name
