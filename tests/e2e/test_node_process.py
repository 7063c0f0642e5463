"""One ``chordshare node`` process at a time: how it fails (port in use, no seed, bad config) and
the demo, as a user runs them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest

from chordshare.cli.launcher import LocalCluster, node_command, wait_until
from tests.conftest import FAST

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e"), pytest.mark.timeout(240)]


def stderr_lines(cluster: LocalCluster, name: str) -> list[str]:
    return (cluster.workdir / f"{name}.log").read_text().strip().splitlines()


@pytest.mark.parametrize("which", ["grpc_port", "http_port"])
def test_port_in_use(process_cluster: LocalCluster, which: str) -> None:
    cluster = process_cluster
    host = f"127.0.0.{cluster.first_address + len(cluster.nodes)}"
    with socket.socket() as holder:
        holder.bind((host, 0))
        holder.listen()
        port = holder.getsockname()[1]
        node = cluster.add(**{"listen_host": host, which: port})
        cluster.launch(node)
        status = node.wait(30)
    assert status == 2
    last = stderr_lines(cluster, node.name)[-1]
    assert last.startswith("chordshare: ")
    assert f"{port}" in last
    assert "already in use" in last
    assert "Traceback" not in node.log_path.read_text()


def test_unreachable_seed_is_retried_then_a_clear_exit(process_cluster: LocalCluster) -> None:
    cluster = process_cluster
    dead = "http://127.0.0.254:9"  # nothing listens there: connection refused
    node = cluster.add([dead, "http://127.0.0.253:9"], join_attempts=3, join_backoff=0.1)
    cluster.launch(node)
    assert node.wait(30) == 1
    lines = stderr_lines(cluster, node.name)
    attempts = [line for line in lines if "WARNING" in line and "127.0.0.254:9, attempt" in line]
    assert len(attempts) == 3  # retried with backoff...
    assert any("127.0.0.253:9, attempt 3/3" in line for line in lines)  # ...then the next seed
    assert lines[-1].startswith("chordshare: could not join through any of 2 seed(s)")
    assert "Traceback" not in node.log_path.read_text()
    assert node.output() == ""  # never printed a ready line


def test_sigint_leaves_gracefully_and_exits_0(process_cluster: LocalCluster) -> None:
    cluster = process_cluster
    first = cluster.start()
    second = cluster.start([first])
    cluster.wait_ready([first, second], 60)
    cluster.wait_ring([first, second], FAST["ring_bits"], 30)
    assert second.output().count("\n") == 1  # exactly one line on stdout: the ready line
    assert f"ready grpc={second.host}:{second.grpc_port} http={second.url}" in second.output()
    os.kill(second.pid, signal.SIGINT)
    assert second.wait(15) == 0
    log = second.log_path.read_text()
    assert "leaving the ring (SIGINT)" in log
    short = second.output().split()[2]
    assert all(f"[{short}]" in line for line in log.splitlines() if line[:2] == "20")
    cluster.wait_ring([first], FAST["ring_bits"], 30)  # alone again: no successor, no predecessor


def test_second_signal_abandons_a_slow_leave(process_cluster: LocalCluster) -> None:
    """While the leave waits on a frozen neighbour (SIGSTOP), a second SIGTERM ends the process
    at once: status 130 and one line saying the leave was not finished."""
    cluster = process_cluster
    first = cluster.start()
    second = cluster.start([first], rpc_timeout=20.0)
    cluster.wait_ready([first, second], 60)
    cluster.wait_ring([first, second], FAST["ring_bits"], 30)
    os.kill(first.pid, signal.SIGSTOP)
    try:
        second.terminate()
        wait_until(
            lambda: "leaving the ring" in second.log_path.read_text() or None, 15, "leave begun"
        )
        assert second.alive  # stuck telling the frozen neighbour
        second.terminate()
        assert second.wait(15) == 130
    finally:
        os.kill(first.pid, signal.SIGCONT)
    last = second.log_path.read_text().strip().splitlines()[-1]
    assert last == "chordshare: stopped by a second signal, without finishing the graceful leave"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("grpc_port = 65536\n", "field 'grpc_port'"),
        ("gprc_port = 1\n", "field 'gprc_port': unknown field"),
    ],
)
def test_config_errors_from_a_real_process(
    process_cluster: LocalCluster, content: str, expected: str
) -> None:
    path = process_cluster.workdir / "bad.toml"
    path.write_text(content)
    done = subprocess.run(
        [*node_command(), "node", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert str(path) in done.stderr
    assert expected in done.stderr


def test_demo_ends_with_exit_0(process_cluster: LocalCluster) -> None:
    """``make demo``: 8 processes, a correct ring, a crash healed, a clean stop."""
    done = subprocess.run(
        [sys.executable, "-m", "chordshare.cli.main", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=process_cluster.workdir,
    )
    print(done.stdout[-2000:])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "The ring — 8 nodes, closed" in done.stdout
    assert "The ring after the crash — 7 nodes, closed" in done.stdout
    assert "7 nodes left the ring and exited with status 0" in done.stdout
