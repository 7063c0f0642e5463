"""Session fixtures of the container tests: a running engine, the image, a network.

No engine is not a reason to skip: .ci/run always provides one, so without it these tests fail
with what to do. As root the session starts one through .ci/container-engine.sh (and stops it
after); the image is built once per session on the local base image (both cached by docker)."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.containers.harness import Cluster, docker

REPO = Path(__file__).resolve().parents[2]
ENGINE = REPO / ".ci" / "container-engine.sh"
IMAGE = "chordshare:test"
POOL = ipaddress.ip_network("10.213.0.0/16")
"""The daemon's only address pool (.ci/container-engine.sh): blackholed outside its bridges."""


def _answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def engine() -> Iterator[None]:
    started = False
    if not _answers():
        if os.geteuid() != 0:
            pytest.fail(
                "no container engine answers and not root: run .ci/container-engine.sh start"
            )
        done = subprocess.run([str(ENGINE), "start"], capture_output=True, text=True, timeout=120)
        if done.returncode != 0 or not _answers():
            pytest.fail(f"could not start a container engine: {done.stderr.strip()}")
        started = True
    yield
    if started:
        subprocess.run([str(ENGINE), "stop"], capture_output=True, timeout=120, check=False)


@pytest.fixture(scope="session")
def image(engine: None) -> str:
    began = time.monotonic()
    base = subprocess.run(
        [str(REPO / "deploy" / "base-image.sh")], capture_output=True, text=True, timeout=600
    )
    assert base.returncode == 0, f"base image: {base.stderr.strip()}"
    docker(
        "build", "-q", "--build-arg", "BASE=chordshare-base:local", "-t", IMAGE, str(REPO),
        timeout=900,
    )  # fmt: skip
    print(f"\nimage ready in {time.monotonic() - began:.1f}s")
    return IMAGE


@pytest.fixture(scope="module")
def cluster(image: str) -> Iterator[Cluster]:
    tag = uuid.uuid4().hex[:8]
    network = f"chordshare-test-{tag}"
    docker("network", "create", network)
    subnet = docker("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", network)
    if not ipaddress.ip_network(subnet).subnet_of(POOL):
        docker("network", "rm", network, check=False)
        pytest.fail(
            f"the engine gave {subnet}, outside {POOL}: start it with .ci/container-engine.sh"
        )
    made = Cluster(image, network, f"cs-{tag}", [])
    try:
        yield made
    finally:
        made.remove_all()
        docker("network", "rm", network, check=False)
