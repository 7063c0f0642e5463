"""gRPC's C-core log lines (``E1202 19:55:12.323285 11070 add_port.cc:83] ...``) stay out of a
node's stderr unless ``--verbose`` asks for them; the CLI imports no gRPC before a command
needs it (gRPC reads its log level once, at import)."""

from __future__ import annotations

import re
import socket
import subprocess
import sys

import pytest

from chordshare.cli.launcher import LocalCluster

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e")]

C_CORE_LINE = re.compile(r"^[DIWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+:\d+\]", re.MULTILINE)
"""The absl log prefix gRPC's C core writes: level, date, time, thread, file:line]."""


@pytest.fixture(autouse=True)
def _grpc_level_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """The nodes started here inherit this environment: the suite's own GRPC_VERBOSITY (set in
    tests/conftest.py for the test process) would be the user's setting, which nodes honour."""
    monkeypatch.delenv("GRPC_VERBOSITY", raising=False)


def c_core_lines(text: str) -> list[str]:
    return [m.group(0) for m in C_CORE_LINE.finditer(text)]


def test_the_cli_imports_no_grpc() -> None:
    code = "import sys, chordshare.cli.main; print('grpc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_node_started_and_stopped_prints_no_grpc_lines(process_cluster: LocalCluster) -> None:
    first = process_cluster.start()
    process_cluster.wait_ready([first], 60)
    second = process_cluster.start([first])
    process_cluster.wait_ready([second], 60)
    first.terminate()  # its peer sees the connection go away
    assert first.wait(30) == 0
    second.terminate()
    assert second.wait(30) == 0
    for node in (first, second):
        log = node.log_path.read_text()
        assert "stopped" in log
        assert c_core_lines(log) == []


@pytest.mark.parametrize("verbose", [False, True])
def test_a_port_in_use_is_one_line_and_grpc_speaks_only_when_verbose(
    process_cluster: LocalCluster, verbose: bool
) -> None:
    cluster = process_cluster
    host = f"127.0.0.{cluster.first_address + len(cluster.nodes)}"
    with socket.socket() as holder:
        holder.bind((host, 0))
        holder.listen()
        node = cluster.add(listen_host=host, grpc_port=holder.getsockname()[1])
        cluster.launch(node, *(["--verbose"] if verbose else []))
        assert node.wait(30) == 2
    log = node.log_path.read_text()
    assert log.strip().splitlines()[-1].startswith("chordshare: cannot serve gRPC")
    if verbose:
        assert any("add_port" in line for line in c_core_lines(log)), log
    else:
        assert c_core_lines(log) == [], log
