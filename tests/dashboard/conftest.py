"""Fixtures of the dashboard tests: a live ring of four node processes on loopback (one of
them sharing a file), headless Chromium driven by Playwright, and a directory for screenshots.

Chromium is Debian's (``/usr/bin/chromium``, installed by ``.ci/run``), launched through
Playwright's ``executable_path``: no browser download.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from chordshare.cli.launcher import LocalCluster, NodeProcess, NotYet, wait_until
from tests.e2e.files_helpers import BITS, FILES, drop_file
from tests.e2e.helpers import START_TIMEOUT

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1280, "height": 800}
SHARED_NAME = "dashboard-ring-notes.bin"
SHARED_SIZE = 300_000
RING_SIZE = 4
SETTINGS = {**FILES, "successor_list_size": 2}
"""Successor lists of 2 on a ring of 4: a node cannot resolve every key from its own list, so
some lookups ask other nodes (hops to draw); one crash still leaves every node a successor."""
EXPECT_TIMEOUT = 30_000
"""Milliseconds a Playwright expectation waits: ring changes take a few stabilization rounds
(0.2 s each) plus the page's debounce, on two loaded cores."""


@dataclass
class LiveRing:
    cluster: LocalCluster
    nodes: list[NodeProcess]
    shared_sha256: str
    """SHA-256 of the file node 1 shares under :data:`SHARED_NAME`."""

    @property
    def first(self) -> NodeProcess:
        return self.nodes[0]

    def walk_ids(self) -> list[str]:
        walk = self.cluster.http.get(self.first.url + "/api/v1/ring").raise_for_status().json()
        assert walk["closed"], walk
        return [str(p["id"]) for p in walk["nodes"]]


def wait_findable(cluster: LocalCluster, node: NodeProcess, name: str) -> None:
    """Until ``node`` finds ``name`` in the network's records."""

    def found() -> bool | None:
        answer = cluster.http.get(f"{node.url}/api/v1/network/files/{quote(name, safe='')}")
        if answer.status_code != 200:
            raise NotYet(f"record of {name}: {answer.status_code}")
        return True

    wait_until(found, 30.0, f"{name} findable")


@pytest.fixture(scope="session")
def live_ring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveRing]:
    with LocalCluster(tmp_path_factory.mktemp("dashboard"), settings=dict(SETTINGS)) as cluster:
        first = cluster.add()
        others = [cluster.add([first]) for _ in range(RING_SIZE - 1)]
        digest = drop_file(cluster, others[0], SHARED_NAME, SHARED_SIZE, seed=7)
        nodes = [first, *others]
        for node in nodes:
            cluster.launch(node)
        cluster.wait_ready(nodes, START_TIMEOUT)
        cluster.wait_ring(nodes, BITS, 60.0)
        wait_findable(cluster, first, SHARED_NAME)
        yield LiveRing(cluster, nodes, digest)


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``$CHORDSHARE_ARTIFACTS`` if set, else a pytest temporary dir."""
    given = os.environ.get("CHORDSHARE_ARTIFACTS")
    path = Path(given) / "dashboard" if given else tmp_path_factory.mktemp("dashboard-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    print(f"dashboard screenshots: {path}")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope, not session: Playwright's sync API runs an asyncio loop on this thread while
    # it is open, and the rest of the worker's tests (asyncio.run, pytest-asyncio) need none.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser, live_ring: LiveRing) -> Iterator[Page]:
    """The dashboard of the ring's first node, its ring drawn."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    opened = context.new_page()
    opened.set_default_timeout(EXPECT_TIMEOUT)
    opened.goto(live_ring.first.url + "/")
    opened.wait_for_selector("#ring-svg g.node.self")
    try:
        yield opened
    finally:
        context.close()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def owner_of(key: str, ids: list[str]) -> str:
    """Brute force: the first node id clockwise from the key's id (SHA-1 of the key mod 2^m)."""
    key_id = int.from_bytes(hashlib.sha1(key.encode()).digest(), "big") % (1 << BITS)
    ordered = sorted(ids, key=lambda h: int(h, 16))
    return next((h for h in ordered if int(h, 16) >= key_id), ordered[0])
