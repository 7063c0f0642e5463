"""A ring of three node processes with mutual TLS between them (the launcher's ``peer_tls``):
it forms, refuses plaintext gRPC, survives a crash, and shares a file end to end."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
from collections.abc import Iterator

import grpc
import pytest

from chordshare.cli.launcher import LocalCluster, NodeProcess, node_command
from chordshare.transport.grpc.generated import ring_pb2 as pb
from chordshare.transport.grpc.generated import ring_pb2_grpc
from tests.e2e.files_helpers import (
    BITS,
    CLI_TIMEOUT,
    FILES,
    MIB,
    chordshare,
    cli_env,
    holders_of,
    random_bytes_file,
    sha256_of,
)
from tests.e2e.helpers import oracle, start_ring, wrong_lookups

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e"), pytest.mark.timeout(240)]

RING_TIMEOUT = 30.0
"""A bound on a broken run (a healthy ring of three needs a few stabilization periods)."""


@pytest.fixture
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    cluster = LocalCluster(tmp_path_factory.mktemp("tls-ring"), settings=dict(FILES), peer_tls=True)
    try:
        yield cluster
    finally:
        cluster.close(grace=5.0)


async def plaintext_ping(node: NodeProcess) -> grpc.StatusCode:
    async with grpc.aio.insecure_channel(f"{node.host}:{node.grpc_port}") as channel:
        try:
            await ring_pb2_grpc.RingStub(channel).Ping(pb.PingRequest(), timeout=5.0)
        except grpc.aio.AioRpcError as exc:
            return exc.code()
    return grpc.StatusCode.OK


def test_a_tls_ring_forms_heals_and_shares_a_file(cluster: LocalCluster) -> None:
    nodes = start_ring(cluster, 3, random.Random(3))
    cluster.wait_ring(nodes, BITS, RING_TIMEOUT)
    keys = [f"tls-{i}.dat" for i in range(9)]
    truth = oracle(nodes, BITS)
    for node in nodes:
        assert wrong_lookups(cluster, [node] * len(keys), keys, BITS, truth) == []
    assert asyncio.run(plaintext_ping(nodes[0])) == grpc.StatusCode.UNAVAILABLE

    (cluster.workdir / "inputs").mkdir()
    source = cluster.workdir / "inputs" / "over-tls.bin"
    digest = random_bytes_file(source, 4 * MIB, seed=11)
    put = chordshare(cluster, "put", str(source), "--node", nodes[0].url, "--json").json()
    assert len(holders_of(put)) == 3

    victim = nodes[1]
    victim.kill()
    assert victim.returncode == -signal.SIGKILL
    survivors = [nodes[0], nodes[2]]
    cluster.wait_ring(survivors, BITS, RING_TIMEOUT)
    truth = oracle(survivors, BITS)
    for node in survivors:
        assert wrong_lookups(cluster, [node] * len(keys), keys, BITS, truth) == []

    dest = cluster.workdir / "over-tls-copy.bin"
    args = ["get", "over-tls.bin", "--node", nodes[2].url, "-o", str(dest), "--json", "--sha256"]
    plain = chordshare(cluster, *args)  # the CLI downloads over gRPC: it needs a certificate
    assert plain.status != 0
    assert not dest.exists()
    got = subprocess.run(
        [*node_command(), *args],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
        cwd=cluster.workdir,
        env={**cli_env(cluster.api_token), **cluster.client_tls_env()},
        stdin=subprocess.DEVNULL,
    )
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["sha256"] == digest
    assert sha256_of(dest) == digest
