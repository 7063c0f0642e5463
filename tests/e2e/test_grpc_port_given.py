"""A node's gRPC port given where its REST URL belongs (a seed, ``--node``) is recognised at once
and named as such, instead of an "illegal request line" after every retry."""

from __future__ import annotations

import os
import subprocess

import pytest

from chordshare.cli.launcher import LocalCluster, NodeProcess, node_command

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e"), pytest.mark.timeout(180)]

DEADLINE = 20.0
"""Seconds the answer may take: generous for a loaded machine, yet far below the retries it
replaces (10 attempts with backoff from 1 s: over a minute)."""


@pytest.fixture
def running(process_cluster: LocalCluster) -> NodeProcess:
    node = process_cluster.start()
    process_cluster.wait_ready([node], 60)
    return node


def test_a_grpc_port_as_seed_exits_2_naming_it(
    process_cluster: LocalCluster, running: NodeProcess
) -> None:
    grpc_url = f"http://{running.host}:{running.grpc_port}"
    joiner = process_cluster.add(
        [grpc_url], join_attempts=10, join_backoff=1.0, join_backoff_max=8.0
    )
    process_cluster.launch(joiner)
    assert joiner.wait(DEADLINE) == 2
    last = joiner.log_path.read_text().strip().splitlines()[-1]
    assert last == (
        f"chordshare: seed {grpc_url}: {running.host}:{running.grpc_port} is a gRPC port; seeds "
        f"(and --node) are REST URLs such as http://{running.host}:REST_PORT (the node's "
        "http_port)"
    )
    assert "Traceback" not in joiner.log_path.read_text()


def test_a_grpc_port_as_node_is_one_line(running: NodeProcess) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHORDSHARE_")}
    address = f"{running.host}:{running.grpc_port}"
    for command in (["ring"], ["lookup", "x"], ["ls"]):
        done = subprocess.run(
            [*node_command(), *command, "--node", f"http://{address}"],
            capture_output=True,
            text=True,
            env=env,
            timeout=DEADLINE,
        )
        assert done.returncode == 1
        assert done.stderr.startswith(f"chordshare: {address} is a gRPC port; "), done.stderr
        assert "--node" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_the_rest_port_is_not_mistaken_for_grpc(running: NodeProcess) -> None:
    from chordshare.client.grpc_port import speaks_http2

    assert speaks_http2(running.host, running.grpc_port)
    assert not speaks_http2(running.host, running.http_port)
    assert not speaks_http2("127.0.0.254", 9)  # nothing listens: not gRPC either
