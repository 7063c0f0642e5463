"""The dashboard's packaging and serving, in process (no browser, no sockets): the assets are
package data, every file the page and its modules refer to is among them, nothing comes from
another origin, and ``/`` answers the page with the strict Content-Security-Policy, also on a
node whose reads need the token (the page is what asks for it)."""

from __future__ import annotations

import re
from importlib import resources

import httpx
import pytest

from chordshare.api.app import create_app
from chordshare.api.auth import AuthPolicy
from chordshare.api.dashboard import ASSETS_PATH, CONTENT_SECURITY_POLICY
from tests.api.conftest import TOKEN, build_ring, client_for, middle_node

EXPECTED = {
    "index.html",
    "style.css",
    "api.js",
    "app.js",
    "files.js",
    "health.js",
    "live.js",
    "ring.js",
    "ring-draw.js",
    "transfers.js",
    "upload.js",
}


def packaged() -> dict[str, str]:
    folder = resources.files("chordshare.api.dashboard") / "assets"
    return {entry.name: entry.read_text("utf-8") for entry in folder.iterdir() if entry.is_file()}


def test_the_assets_are_package_data() -> None:
    assert set(packaged()) == EXPECTED


def test_every_referenced_file_is_packaged_and_nothing_is_remote() -> None:
    files = packaged()
    page = files["index.html"]
    linked = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sorted(linked) == [f"{ASSETS_PATH}/app.js", f"{ASSETS_PATH}/style.css"]
    imported = {
        name: re.findall(r'from "\./([^"]+)"', text)
        for name, text in files.items()
        if name.endswith(".js")
    }
    assert imported["app.js"]  # the regular expression does find imports
    for name, targets in imported.items():
        for target in targets:
            assert target in files, f"{name} imports {target}, which is not packaged"
    for name, text in files.items():
        remote = [u for u in re.findall(r"https?://[^\s\"'`)]+", text) if "www.w3.org" not in u]
        assert remote == [], f"{name} refers to {remote}"
        assert "<script>" not in text, f"{name}: inline script"
        assert "style=" not in text, f"{name}: inline style"


@pytest.mark.parametrize("closed_reads", [False, True])
async def test_the_page_is_served_with_a_strict_csp(closed_reads: bool) -> None:
    ring = await build_ring(3)
    app = create_app(middle_node(ring), auth=AuthPolicy(token=TOKEN, closed_reads=closed_reads))
    async with client_for(app, token=None) as http:
        page = await http.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.text == packaged()["index.html"]
        policy = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
        assert policy["default-src"] == policy["script-src"] == "'self'"
        assert policy["connect-src"] == "'self'"
        assert "unsafe" not in CONTENT_SECURITY_POLICY
        script = await http.get(f"{ASSETS_PATH}/app.js")
        assert script.headers["content-type"] == "text/javascript; charset=utf-8"
        assert script.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        style = await http.get(f"{ASSETS_PATH}/style.css")
        assert style.headers["content-type"] == "text/css; charset=utf-8"
        for missing in ("nope.js", "..%2Fapp.py", "__init__.py"):
            answer = await http.get(f"{ASSETS_PATH}/{missing}")
            assert answer.status_code == 404, missing
        # the data behind the page follows the read policy
        node = await http.get("/api/v1/node")
        assert node.status_code == (401 if closed_reads else 200)
        paths = await documented(http)
        assert "/api/v1/node" in paths
        assert "/" not in paths


async def documented(http: httpx.AsyncClient) -> set[str]:
    """The OpenAPI document's paths (the dashboard is a page, not API: it stays out)."""
    answer = await http.get("/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"})
    return set(answer.raise_for_status().json()["paths"])
