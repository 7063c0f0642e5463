"""The interactive API docs (``/docs``, Swagger UI) served entirely by the node.

FastAPI's default ``/docs`` page loads Swagger UI's script and stylesheet from a CDN, so on a
machine without internet access (a lab network, a container without egress) it stays blank.
Here the page is FastAPI's own (:func:`get_swagger_ui_html`) pointed at the copy of Swagger UI
vendored in the ``swagger_ui_bundle`` package, served under :data:`ASSETS_PATH`. ReDoc has no
such vendored copy, so ``/redoc`` is off; ``/openapi.json`` and ``/docs`` carry the same
document.

:func:`install` adds the routes to an app built with :data:`FASTAPI_ARGS` (which turn FastAPI's
CDN-backed pages off).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

DOCS_PATH = "/docs"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
ASSETS_PATH = "/docs/assets"
"""Where the vendored Swagger UI files are served (its ``swagger-ui-bundle.js``, ``.css``...)."""

FASTAPI_ARGS: dict[str, Any] = {"docs_url": None, "redoc_url": None}
"""``FastAPI(...)`` arguments: no default docs pages (they load their assets from a CDN)."""


class _VendoredAssets:
    """Swagger UI's files, served from ``swagger_ui_bundle`` once somebody opens the docs: the
    package (and the ``importlib_resources`` backport it imports) stays out of a node's memory
    until the first request under :data:`ASSETS_PATH`."""

    def __init__(self) -> None:
        self._files: StaticFiles | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._files is None:
            from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

            self._files = StaticFiles(directory=Path(swagger_ui_path))
        await self._files(scope, receive, send)


def install(app: FastAPI) -> None:
    """Serve ``/docs`` and its assets from this node (see the module). The page follows the
    app's ``openapi_url`` (nothing is served when that is ``None``)."""
    openapi_url = app.openapi_url
    if openapi_url is None:
        return
    app.mount(ASSETS_PATH, _VendoredAssets(), name="docs-assets")
    title = f"{app.title} — API docs"

    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
            oauth2_redirect_url=OAUTH2_REDIRECT_PATH,
        )

    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.add_api_route(DOCS_PATH, docs, include_in_schema=False, methods=["GET"])
    app.add_api_route(
        OAUTH2_REDIRECT_PATH, oauth2_redirect, include_in_schema=False, methods=["GET"]
    )
