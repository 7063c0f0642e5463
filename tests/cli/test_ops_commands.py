"""``chordshare rescan`` and ``chordshare leave`` against a real node process: rescan says what
it published and withdrew; leave waits until the node has stopped, and says so."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from chordshare.cli.launcher import LocalCluster, NodeProcess, node_command

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e"), pytest.mark.timeout(180)]

HOUR = 3600.0


def chordshare(cluster: LocalCluster, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHORDSHARE_")}
    env["CHORDSHARE_API_TOKEN"] = cluster.api_token
    env["COLUMNS"] = "200"
    return subprocess.run(
        [*node_command(), *args], capture_output=True, text=True, env=env, timeout=60
    )


@pytest.fixture
def node(process_cluster: LocalCluster) -> NodeProcess:
    started = process_cluster.start(rescan_interval=HOUR)
    process_cluster.wait_ready([started], 60)
    return started


def test_rescan_reports_the_state_of_shared_dir(
    process_cluster: LocalCluster, node: NodeProcess
) -> None:
    shared = process_cluster.workdir / node.name / "shared"
    (shared / "one.txt").write_bytes(b"1" * 100)
    done = chordshare(process_cluster, "rescan", "--node", node.url, "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    # The watcher may have published it first; either way the node now shares it.
    assert answer["sharing"] == 1
    assert set(answer["published"]) <= {"one.txt"}
    done = chordshare(process_cluster, "rescan", "--node", node.url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1].endswith("sharing 1 file")

    refused = chordshare(process_cluster, "rescan", "--node", node.url, "--token", "wrong")
    assert refused.returncode == 1
    assert "the node refused" in refused.stderr


def test_leave_waits_until_the_node_has_stopped(
    process_cluster: LocalCluster, node: NodeProcess
) -> None:
    done = chordshare(process_cluster, "leave", "--node", node.url, "--timeout", "60")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    short = f"{node.node_id:08x}"[:8]
    assert lines == [
        f"node {short} is leaving the ring",
        f"node {short} left the ring and stopped",
    ]
    assert node.wait(10) == 0  # it had stopped serving; the process exits right after
    assert "leaving the ring (POST /api/v1/leave)" in node.log_path.read_text()
