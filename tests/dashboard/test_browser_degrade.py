"""The dashboard against a node without the newer routes (search, event stream, transfers,
status), played by answering those requests 404 in the browser: the views say "not available
on this node", the page polls, and a search falls back to filtering the name listing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.dashboard.conftest import EXPECT_TIMEOUT, SHARED_NAME, VIEWPORT, LiveRing

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.xdist_group("browser"),
    pytest.mark.timeout(240),
]

MISSING = ("/api/v1/network/search", "/api/v1/events", "/api/v1/transfers", "/api/v1/status")


@pytest.fixture
def old_node_page(browser: Browser, live_ring: LiveRing) -> Iterator[tuple[Page, list[str]]]:
    context = browser.new_context(viewport=VIEWPORT)
    refused: list[str] = []

    def not_found(route: Route) -> None:
        refused.append(route.request.url)
        body = {"detail": "Not Found", "error": None}
        route.fulfill(status=404, content_type="application/json", body=json.dumps(body))

    for path in MISSING:
        context.route(f"**{path}*", not_found)
    page = context.new_page()
    page.set_default_timeout(EXPECT_TIMEOUT)
    page.goto(live_ring.first.url + "/")
    try:
        yield page, refused
    finally:
        context.close()


def test_a_node_without_the_newer_routes_degrades(
    old_node_page: tuple[Page, list[str]], live_ring: LiveRing
) -> None:
    page, refused = old_node_page
    expect(page.locator("#ring-svg g.node")).to_have_count(len(live_ring.nodes))
    expect(page.locator("#live-status")).to_have_text("Live: polling every 2 s")
    page.get_by_role("tab", name="Transfers").click()
    expect(page.locator("#transfers-status")).to_have_text("Transfers: not available on this node")
    page.get_by_role("tab", name="Health").click()
    expect(page.locator("#health-status")).to_have_text("Health: not available on this node")
    page.get_by_role("tab", name="Files").click()
    page.get_by_label("Search the network's files").fill("RING notes")
    page.get_by_role("button", name="Search").click()
    hit = page.locator(f'#file-results li[data-name="{SHARED_NAME}"]')
    expect(hit).to_have_count(1)
    record = live_ring.cluster.http.get(
        f"{live_ring.first.url}/api/v1/network/files/{SHARED_NAME}"
    ).json()["records"][0]
    expect(hit.locator("a.download")).to_have_attribute("data-hash", record["content_hash"])
    page.get_by_label("Search the network's files").fill("notes nosuchword")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#search-status")).to_have_text("0 names found")
    assert any("/api/v1/network/search" in url for url in refused)
    assert any("/api/v1/events" in url for url in refused)
