"""The Files view in headless Chromium against a live ring: a search finds the shared file, its
download link returns its bytes, and an upload works with the token and is refused (with the
node's message) without it."""

from __future__ import annotations

import random
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from tests.dashboard.conftest import SHARED_NAME, SHARED_SIZE, LiveRing, sha256, wait_findable

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.xdist_group("browser"),
    pytest.mark.timeout(240),
]


def search(page: Page, query: str) -> None:
    page.get_by_role("tab", name="Files").click()
    page.get_by_label("Search the network's files").fill(query)
    page.get_by_role("button", name="Search").click()


def test_a_search_finds_the_shared_file(page: Page, live_ring: LiveRing) -> None:
    search(page, "notes RING")  # words in any order and case
    hit = page.locator(f'#file-results li[data-name="{SHARED_NAME}"]')
    expect(hit).to_have_count(1)
    record = live_ring.cluster.http.get(
        f"{live_ring.first.url}/api/v1/network/files/{SHARED_NAME}"
    ).json()["records"][0]
    expect(hit.locator("a.download")).to_have_attribute("data-hash", record["content_hash"])
    expect(hit).to_contain_text(record["content_hash"])
    search(page, "notes nosuchword")
    expect(page.locator("#search-status")).to_have_text("0 names found")
    expect(page.locator("#file-results li")).to_have_count(0)


def test_the_download_link_returns_the_files_bytes(
    page: Page, live_ring: LiveRing, tmp_path: Path
) -> None:
    search(page, "dashboard notes")
    link = page.locator(f'#file-results li[data-name="{SHARED_NAME}"] a.download')
    with page.expect_download() as caught:
        link.click()
    download = caught.value
    assert download.suggested_filename == SHARED_NAME
    saved = tmp_path / "downloaded"
    download.save_as(saved)
    body = saved.read_bytes()
    assert len(body) == SHARED_SIZE
    assert sha256(body) == live_ring.shared_sha256


def test_an_upload_needs_the_token_and_works_with_it(page: Page, live_ring: LiveRing) -> None:
    cluster = live_ring.cluster
    name = "uploaded from the dashboard.bin"
    body = random.Random(11).randbytes(70_000)
    page.get_by_role("tab", name="Files").click()
    page.get_by_label("File", exact=True).set_input_files(
        files=[{"name": "local.bin", "mimeType": "text/plain", "buffer": body}]
    )
    expect(page.get_by_label("Name in the network")).to_have_value("local.bin")
    page.get_by_label("Name in the network").fill(name)
    page.get_by_role("button", name="Upload").click()
    status = page.locator("#upload-status")
    expect(status).to_contain_text("Upload refused (401)")
    expect(status).to_contain_text("this request needs the node's API token")
    page.get_by_label("API token").fill("not-the-token")
    page.get_by_role("button", name="Use token").click()
    page.get_by_role("button", name="Upload").click()
    expect(status).to_contain_text("Upload refused (403): wrong API token")
    assert (
        cluster.http.get(f"{live_ring.first.url}/api/v1/network/files/{quote(name)}").status_code
        == 404
    )
    page.get_by_label("API token").fill(cluster.api_token)
    page.get_by_role("button", name="Use token").click()
    page.get_by_role("button", name="Upload").click()
    expect(status).to_contain_text(f"Uploaded {name}")
    wait_findable(cluster, live_ring.nodes[2], name)
    fetched = cluster.http.get(
        f"{live_ring.nodes[2].url}/api/v1/network/files/{quote(name)}/content"
    ).raise_for_status()
    assert sha256(fetched.content) == sha256(body)
