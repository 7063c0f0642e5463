"""File sharing end to end, as a user runs it: five node processes from their own config files; a
100 MiB file dropped into node 1's shared directory is found from node 5 with
``chordshare search`` and downloaded with ``chordshare get`` (SHA-256 matches); a file uploaded
with ``chordshare put`` through node 2 still downloads from node 4 after node 2 and the first
holder of the file are killed with kill -9."""

from __future__ import annotations

import random
import signal

import pytest

from chordshare.cli.launcher import LocalCluster
from tests.e2e.files_helpers import (
    BITS,
    FILES,
    MIB,
    chordshare,
    drop_file,
    holders_of,
    node_of,
    random_bytes_file,
    sha256_of,
    stray_files,
    wait_found,
)
from tests.e2e.helpers import start_ring

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e"), pytest.mark.timeout(240)]

BIG = 100 * MIB
UPLOAD = 24 * MIB


def test_files_done_when(process_cluster: LocalCluster) -> None:
    cluster = process_cluster
    cluster.settings.update(FILES)
    nodes = start_ring(cluster, 5, random.Random(5))
    cluster.wait_ring(nodes, BITS, 30.0)
    one, two, _, four, five = nodes
    downloads = cluster.workdir / "downloads"
    downloads.mkdir()

    # A 100 MiB file dropped into node 1's shared directory...
    digest = drop_file(cluster, one, "big.bin", BIG, seed=100)
    wait_found(cluster, five, "big.bin", 60.0)
    # ...is found from node 5 with `chordshare search`...
    found = chordshare(cluster, "show", "big.bin", "--node", five.url, "--json").json()
    assert len(found["records"]) == 1
    found = found["records"][0]
    assert found["size"] == BIG
    assert [p["grpc_address"] for p in found["providers"]] == [f"{one.host}:{one.grpc_port}"]
    table = chordshare(cluster, "show", "big.bin", "--node", five.url)
    assert table.status == 0
    assert "big.bin" in table.out
    assert f"{one.host}:{one.grpc_port}" in table.out
    # ...downloaded with `chordshare get`, and its SHA-256 matches.
    got = chordshare(
        cluster, "get", "big.bin", "--node", five.url, "-o", str(downloads), "--json", "--sha256"
    )
    report = got.json()
    assert report["sha256"] == digest == sha256_of(downloads / "big.bin")
    assert report["fetched_pieces"] == report["pieces"] == 100
    print(
        f"get of 100 MiB from node 1 (asked node 5): {report['mib_per_s']} MiB/s of transfer, "
        f"{got.seconds:.2f} s for the whole command"
    )

    # A file uploaded with `chordshare put` through node 2...
    (cluster.workdir / "inputs").mkdir()
    source = cluster.workdir / "inputs" / "upload.bin"
    upload_digest = random_bytes_file(source, UPLOAD, seed=24)
    put = chordshare(cluster, "put", str(source), "--node", two.url, "--json")
    answer = put.json()
    holders = holders_of(answer)
    assert len(holders) == 3, answer
    print(f"put of 24 MiB through node 2: {put.seconds:.2f} s for the command; holders {holders}")

    # ...still downloads from node 4 after node 2 and the first holder are killed with kill -9.
    victims = [two]
    first = next(node_of(nodes, h) for h in holders if node_of(nodes, h) not in (two, four))
    victims.append(first)
    for victim in victims:
        victim.kill()
        assert victim.returncode == -signal.SIGKILL
    survivors = [n for n in nodes if n.alive]
    assert four in survivors
    cluster.wait_ring(survivors, BITS, 30.0, full=False)
    after = chordshare(
        cluster, "get", "upload.bin", "--node", four.url, "-o", str(downloads), "--json", "--sha256"
    )
    report = after.json()
    assert report["sha256"] == upload_digest == sha256_of(downloads / "upload.bin")
    assert sum(p["pieces"] for p in report["providers"]) == report["pieces"]
    print(f"after kill -9 of {[v.name for v in victims]}: downloaded from {report['providers']}")

    assert stray_files(cluster.workdir, nodes, {"downloads", "staging", "inputs"}) == []
