"""deploy/compose.yaml as a user runs it: `docker-compose up` gives a ring a host CLI can use."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.containers.harness import Node, ring_ids, wait_for

pytestmark = [
    pytest.mark.containers,
    pytest.mark.slow,
    pytest.mark.xdist_group("containers"),
    pytest.mark.timeout(300),
]

COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "compose.yaml"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def compose_ring(image: str) -> Iterator[Node]:
    port = free_port()
    env = {**os.environ, "CHORDSHARE_IMAGE": image, "CHORDSHARE_HTTP_PUBLISH": str(port)}
    project = ["docker-compose", "-f", str(COMPOSE), "-p", f"cstest{uuid.uuid4().hex[:8]}"]

    def run(*args: str) -> None:
        done = subprocess.run(
            [*project, *args], env=env, capture_output=True, text=True, timeout=240, check=False
        )
        assert done.returncode == 0, f"docker-compose {' '.join(args)}: {done.stderr.strip()}"

    try:
        run("up", "-d", "--no-build")
        yield Node("node1", "", f"http://127.0.0.1:{port}")
    finally:
        run("down", "--volumes", "--timeout", "150")


def test_compose_up_gives_a_ring_the_host_cli_uses(compose_ring: Node) -> None:
    def three() -> list[str] | None:
        closed, ids = ring_ids(compose_ring)
        return ids if closed and len(ids) == 3 else None

    ids = wait_for("a ring of 3 from compose", three, 120)
    cli = Path(sys.executable).parent / "chordshare"
    done = subprocess.run(
        [str(cli), "lookup", "--node", compose_ring.url, "--json", "some-key"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert any(i in done.stdout for i in ids)
