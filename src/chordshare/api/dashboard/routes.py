"""Routes of the dashboard: the page at ``/`` and its assets under :data:`ASSETS_PATH`.

Assets are read with :mod:`importlib.resources` from the installed package (the wheel's package
data), once per process, and served from memory with their content type, a strict
Content-Security-Policy and ``nosniff``. Only the files of the package's ``assets`` folder can
be served: the asset name is looked up in that folder's listing, never joined into a path.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter, FastAPI, Response

from chordshare.errors import NotFound

ASSETS_PATH = "/dashboard"
"""Where the page's stylesheet and scripts are served (``/dashboard/app.js``...)."""

INDEX = "index.html"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
"""Everything from this node only: no inline script or style, no other origin, no framing."""

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
"""The types of the files the assets folder may hold; any other file is not served."""

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
"""``no-cache``: a browser revalidates, so a node upgraded in place serves its new page."""

router = APIRouter(include_in_schema=False)


@cache
def assets() -> dict[str, tuple[bytes, str]]:
    """Name -> (bytes, content type) of every servable file of the packaged assets folder."""
    folder = resources.files(__package__ or "chordshare.api.dashboard") / "assets"
    found: dict[str, tuple[bytes, str]] = {}
    for entry in folder.iterdir():
        suffix = entry.name[entry.name.rfind(".") :] if "." in entry.name else ""
        if entry.is_file() and suffix in CONTENT_TYPES:
            found[entry.name] = (entry.read_bytes(), CONTENT_TYPES[suffix])
    return found


def _answer(name: str) -> Response:
    found = assets().get(name)
    if found is None:
        raise NotFound(f"the dashboard has no file named {name[:100]!r}")
    body, kind = found
    return Response(body, media_type=kind, headers=HEADERS)


@router.get("/")
async def dashboard_page() -> Response:
    return _answer(INDEX)


@router.get(ASSETS_PATH + "/{name}")
async def dashboard_asset(name: str) -> Response:
    return _answer(name)


def install(app: FastAPI) -> None:
    """Serve the dashboard on ``app`` (outside the OpenAPI document: it is a page, not API)."""
    app.include_router(router)
