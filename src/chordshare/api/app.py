"""The REST face of one node: :func:`create_app` builds its FastAPI application.

The composition root (``chordshare.service``) calls it with the running :class:`ChordNode`, the
handler that performs a graceful leave and exit, and the Prometheus registry shared with the
gRPC layer, then serves the app with uvicorn. The app holds no globals: tests build one app per
node of an in-memory cluster and talk to it through ``httpx.ASGITransport``.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from chordshare.api import dashboard, docs_assets, metrics
from chordshare.api.auth import READ_ACCESS, AuthPolicy, auth_responses, auth_state, install_auth
from chordshare.api.deps import ApiContext, FilesFacade, LeaveHandler, app_context
from chordshare.api.errors import install_error_handlers
from chordshare.api.metrics import NodeCollector
from chordshare.api.routes import content as content_routes
from chordshare.api.routes import events as events_routes
from chordshare.api.routes import files as files_routes
from chordshare.api.routes import ops as ops_routes
from chordshare.api.routes import ring as ring_routes
from chordshare.node.ring.chord import ChordNode

DESCRIPTION = """\
REST API of one chordshare node: a peer of a Chord ring that shares files.

Any node is an entry point. Ring ids are lowercase hex strings zero-padded to the ring's width
(m bits; 160 with SHA-1 in production). Errors are JSON `{"detail": "...", "error": "..."}`.

**Discovery.** A node joining the ring through a seed knows only the seed's REST URL: it reads
`GET /api/v1/node` (`id`, `grpc_address`, `ring_bits`) and then joins over gRPC. Nodes exchange
what they know with `GET /api/v1/peers`.

**Access.** Reads are open unless the node sets `closed_reads`; uploads and operations (leave)
need `Authorization: Bearer <token>` (the node's `api_token`, or the file `api_token` in its
data_dir): 401 without it, 403 with a wrong one, 429 after too many failures from one address.
A token in the query string is refused (400). State-changing requests with a form content type
get 415, with an `Origin` other than the node's own or its `allowed_origins` 403.
"""

TAGS = [
    {"name": "ring", "description": "This node's place in the Chord ring, lookups, ring walk."},
    {"name": "discovery", "description": "What a joining node or a peer exchange reads."},
    {"name": "operations", "description": "Health, metrics and graceful leave."},
]

FILES_TAG = {
    "name": "files",
    "description": "Files this node shares, the network's file records, upload and download "
    "through this node. Names are display names (one URL segment), never paths.",
}


def create_app(
    node: ChordNode,
    *,
    on_leave: LeaveHandler | None = None,
    registry: CollectorRegistry | None = None,
    auth: AuthPolicy | None = None,
) -> FastAPI:
    """The FastAPI app serving ``node``.

    ``on_leave`` is awaited in a background task by ``POST /api/v1/leave``: it should leave the
    ring gracefully and stop the process (without it, the route answers 501). ``registry`` is the
    Prometheus registry exposed at ``/metrics``; the app registers a :class:`NodeCollector` for
    ``node`` on it, so pass the registry other layers use, once per node (a second collector for
    the same names raises ``ValueError``). By default the app gets a private registry.
    ``auth``: who may read and write (:mod:`chordshare.api.auth`); by default reads are open and
    writes need a random token nobody knows, i.e. are refused.
    """
    registry = registry if registry is not None else CollectorRegistry()
    registry.register(NodeCollector(node))
    app = FastAPI(
        title="chordshare node",
        version=version("chordshare"),
        description=DESCRIPTION,
        openapi_tags=list(TAGS),
        **docs_assets.FASTAPI_ARGS,
    )
    docs_assets.install(app)  # /docs with Swagger UI served by the node, not a CDN
    dashboard.install(app)  # the web dashboard at /
    app.state.chordshare = ApiContext(node=node, registry=registry, on_leave=on_leave)
    install_error_handlers(app)
    install_auth(app, auth if auth is not None else AuthPolicy())
    app.include_router(ring_routes.router, **_reads(app))
    app.include_router(ops_routes.router)
    app.include_router(metrics.router, **_reads(app))
    app.include_router(events_routes.router, **_reads(app))
    return app


def _reads(app: FastAPI) -> dict[str, Any]:
    """``include_router`` arguments of a router of reads: the token check when reads are
    closed, documented as such."""
    if not auth_state(app).policy.closed_reads:
        return {}
    return {"dependencies": READ_ACCESS, "responses": auth_responses(same_site=False)}


def install_files(app: FastAPI, files: FilesFacade) -> FastAPI:
    """Serve the file routes (:mod:`chordshare.api.routes.content` and ``.files``) on ``app``,
    built by :func:`create_app`, through ``files`` (the node's file sharing); returns ``app``.
    Call it before the app serves its first request (the OpenAPI document is built once)."""
    app_context(app).files = files
    app.openapi_tags = [*(app.openapi_tags or []), FILES_TAG]
    # content first: its path also matches a record's
    app.include_router(content_routes.router, **_reads(app))
    app.include_router(files_routes.router, **_reads(app))
    return app
