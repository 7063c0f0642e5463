"""Shared fixtures for tests that run real nodes.

* ``process_cluster``: nodes as separate ``chordshare node --config FILE`` processes, each on its
  own loopback address (127.0.0.2, ...) with free ports (:class:`LocalCluster`). Teardown sends
  SIGTERM, then SIGKILL, to the PIDs the cluster started and to nothing else.
* ``service_ring``: a few :class:`NodeService` instances (real gRPC and REST on loopback) in one
  event loop on a background thread, for tests that drive the blocking CLI against live nodes
  without paying for process start-up.

Hypothesis runs every property test of the suite under one settings profile, loaded here.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# gRPC's C core reads its log level once, when first imported (below, through the service):
# its INFO lines (connection events such as "Got goaway") are noise between the test results.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

import pytest
from hypothesis import settings

from chordshare.cli.launcher import LocalCluster
from chordshare.service.config import NodeConfig
from chordshare.service.node_service import NodeService

# No per-example deadline: a property test checks what the code does, and the default 200 ms
# bound fails examples that only ran slowly on a loaded machine (xdist workers, node processes
# of the end-to-end tests on the same cores). Every other setting keeps Hypothesis's default; a
# test that needs more or fewer examples says so in its own @settings.
settings.register_profile("chordshare", deadline=None)
settings.load_profile("chordshare")

FAST: dict[str, Any] = {
    "ring_bits": 32,
    "stabilize_interval": 0.2,
    "fix_fingers_interval": 0.2,
    "check_predecessor_interval": 0.2,
    "rpc_timeout": 1.0,
    "join_attempts": 30,
    "join_backoff": 0.1,
    "join_backoff_max": 0.5,
    "shutdown_grace": 0.5,
    "log_level": "INFO",
}
"""Short intervals: a ring of 16 converges in a few seconds. 32-bit ids keep logs readable;
collisions among a few dozen nodes have a probability of about 1e-7."""

_NODE_ROOT = Path(tempfile.mkdtemp(prefix="chordshare-tests-"))
_node_numbers = itertools.count()


def node_dirs() -> dict[str, Path]:
    """A shared_dir and data_dir of its own for one in-process node, never the working directory
    (the defaults are relative): nodes must not share a record store or a blob store."""
    base = _NODE_ROOT / f"node{next(_node_numbers)}"
    return {"shared_dir": base / "shared", "data_dir": base / "data"}


@pytest.fixture(scope="session", autouse=True)
def _remove_node_dirs() -> Iterator[None]:
    yield
    shutil.rmtree(_NODE_ROOT, ignore_errors=True)


_addresses = itertools.count()
"""Loopback blocks handed to in-process rings (127.0.0.40 upwards), apart from the process
clusters' 127.0.0.2... so the two kinds never compete for an address."""


@pytest.fixture
def process_cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    cluster = LocalCluster(tmp_path, settings=dict(FAST))
    try:
        yield cluster
    finally:
        cluster.close(grace=5.0)


class ServiceRing:
    """NodeServices sharing one event loop on a background thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.services: list[NodeService] = []
        self.runs: list[Any] = []
        self.lines: list[str] = []

    def start(self, seeds: list[str] | None = None, **values: Any) -> NodeService:
        host = f"127.0.0.{40 + next(_addresses) % 200}"
        config = NodeConfig(
            **{
                **FAST,
                **node_dirs(),
                "listen_host": host,
                "grpc_port": 0,
                "http_port": 0,
                "seeds": seeds or [],
                **values,
            }
        )

        async def build() -> NodeService:
            return NodeService(config, announce=self.lines.append)

        service = asyncio.run_coroutine_threadsafe(build(), self.loop).result(5)
        run = asyncio.run_coroutine_threadsafe(service.run(), self.loop)
        ready = asyncio.run_coroutine_threadsafe(
            asyncio.wait_for(service.ready.wait(), 20), self.loop
        )
        ready.result(25)
        self.services.append(service)
        self.runs.append(run)
        return service

    def url(self, service: NodeService) -> str:
        assert service.node is not None
        return service.node.me.http_url

    def close(self) -> None:
        for service in self.services:
            self.loop.call_soon_threadsafe(service.request_stop, "test teardown")
        for run in self.runs:
            run.result(20)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def service_ring() -> Iterator[ServiceRing]:
    ring = ServiceRing()
    try:
        yield ring
    finally:
        ring.close()


CHECKER_RUNS = 15
"""Schedules the durability checker (tests/checker) runs by default: about a minute on two
loaded cores."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--checker-runs",
        type=int,
        default=CHECKER_RUNS,
        metavar="N",
        help=f"schedules the durability checker runs (default {CHECKER_RUNS}; more for a soak)",
    )
