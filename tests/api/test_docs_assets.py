"""``/docs`` works offline: the page references only the node's own URLs, and those answer with
Swagger UI's JavaScript, CSS and icon from the vendored copy; ``/redoc`` (CDN-only) is off."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx

from chordshare.api.docs_assets import ASSETS_PATH

ASSET_URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*['"]([^'"]+)['"]""")


async def test_docs_reference_only_the_nodes_own_assets(http: httpx.AsyncClient) -> None:
    page = await http.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    urls = [a or b for a, b in ASSET_URL.findall(page.text)]
    assert f"{ASSETS_PATH}/swagger-ui-bundle.js" in urls
    assert f"{ASSETS_PATH}/swagger-ui.css" in urls
    assert "/openapi.json" in urls
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme, f"{url} is not the node's own"
        assert not parts.netloc, f"{url} is not the node's own"
    assert "cdn" not in page.text.lower()

    kinds = {".js": "javascript", ".css": "text/css", ".png": "image/png"}
    for url in urls:
        if not url.startswith(ASSETS_PATH):
            continue
        asset = await http.get(url)
        assert asset.status_code == 200, url
        kind = next(v for k, v in kinds.items() if url.endswith(k))
        assert kind in asset.headers["content-type"], (url, asset.headers["content-type"])
        assert len(asset.content) > 100

    assert (await http.get("/docs/oauth2-redirect")).status_code == 200
    assert (await http.get("/openapi.json")).status_code == 200


async def test_redoc_is_off_and_docs_are_not_in_the_schema(http: httpx.AsyncClient) -> None:
    assert (await http.get("/redoc")).status_code == 404
    paths = (await http.get("/openapi.json")).json()["paths"]
    assert not any(p.startswith("/docs") for p in paths)
