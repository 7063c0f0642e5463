"""The dashboard of a node whose reads need the token, in headless Chromium: the page asks for
the token, sends it only as ``Authorization: Bearer`` (never in a URL), polls instead of
following the event stream (an EventSource cannot send headers), and downloads through fetch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Request, expect

from chordshare.cli.launcher import LocalCluster, NodeProcess
from tests.dashboard.conftest import EXPECT_TIMEOUT, VIEWPORT, sha256, wait_findable
from tests.e2e.files_helpers import FILES, drop_file
from tests.e2e.helpers import START_TIMEOUT

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.xdist_group("browser"),
    pytest.mark.timeout(240),
]

NAME = "closed-node-report.bin"


@pytest.fixture(scope="module")
def closed_node(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LocalCluster, NodeProcess, str]]:
    workdir = tmp_path_factory.mktemp("closed")
    settings = {**FILES, "closed_reads": True}
    with LocalCluster(workdir, settings=settings, first_address=60) as cluster:
        node = cluster.add()
        digest = drop_file(cluster, node, NAME, 120_000, seed=3)
        cluster.launch(node)
        cluster.wait_ready([node], START_TIMEOUT)
        wait_findable(cluster, node, NAME)
        yield cluster, node, digest


def test_a_closed_node_asks_for_the_token_and_never_puts_it_in_a_url(
    browser: Browser, closed_node: tuple[LocalCluster, NodeProcess, str], tmp_path: Path
) -> None:
    cluster, node, digest = closed_node
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(EXPECT_TIMEOUT)
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    try:
        page.goto(node.url + "/")
        prompt = page.locator("#token-prompt")
        expect(prompt).to_be_visible()
        expect(prompt).to_contain_text("need its API token")
        expect(page.locator("#token")).to_be_focused()
        expect(page.locator("#ring-svg g.node")).to_have_count(0)
        page.get_by_label("API token").fill("wrong")
        page.get_by_role("button", name="Use token").click()
        expect(prompt).to_contain_text("The token was refused: wrong API token")
        page.get_by_label("API token").fill(cluster.api_token)
        page.get_by_role("button", name="Use token").click()
        expect(page.locator("#ring-svg g.node.self")).to_have_count(1)
        expect(prompt).to_be_hidden()
        expect(page.locator("#live-status")).to_have_text("Live: polling every 2 s")
        page.get_by_role("tab", name="Health").click()
        expect(page.locator("#health-figures")).to_contain_text(f"{node.node_id:08x}")
        page.get_by_role("tab", name="Files").click()
        page.get_by_label("Search the network's files").fill("report")
        page.get_by_role("button", name="Search").click()
        link = page.locator(f'#file-results li[data-name="{NAME}"] a.download')
        with page.expect_download() as caught:
            link.click()  # a plain link cannot carry the header: fetched, saved from a blob
        saved = tmp_path / "saved"
        caught.value.save_as(saved)
        assert sha256(saved.read_bytes()) == digest
    finally:
        context.close()
    api = [r for r in requests if "/api/v1/" in r.url]
    assert api, "the page read nothing"
    assert not [r.url for r in requests if cluster.api_token in r.url]
    assert not [r.url for r in api if "/api/v1/events" in r.url]  # polled, never streamed
    sent = [r.headers.get("authorization") for r in api]
    first_ok = sent.index(f"Bearer {cluster.api_token}")
    assert all(h == f"Bearer {cluster.api_token}" for h in sent[first_ok:])
