"""Fixtures for the REST tests: a converged in-memory ring and httpx clients bound to the ASGI app
of one of its nodes (no sockets)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from anyio.from_thread import BlockingPortal
from fastapi import FastAPI

from chordshare.api.app import create_app
from chordshare.api.auth import AuthPolicy
from chordshare.node.ring.chord import ChordNode
from chordshare.ring import IdSpace, PeerRef
from chordshare.sim.cluster import MemoryCluster

BASE_URL = "http://node.test"
TOKEN = "test-token-for-the-api-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TEST_AUTH = AuthPolicy(token=TOKEN)
"""The policy of the test apps: open reads, writes with :data:`TOKEN`."""


async def build_ring(
    n: int, *, bits: int = 32, seed: int = 1, ids: list[int] | None = None
) -> MemoryCluster:
    """n nodes joined one by one, converged, fingers refreshed (the brief's recipe)."""
    cluster = MemoryCluster(bits=bits, seed=seed)
    for i in range(n):
        await cluster.join(None if ids is None else ids[i])
    await cluster.converge()
    await cluster.refresh_fingers()
    return cluster


def client_for(
    app: FastAPI, token: str | None = TOKEN, address: str = "127.0.0.1"
) -> httpx.AsyncClient:
    """A client of ``app`` sending ``token`` (none: ``None``) from ``address``."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 50000)),
        base_url=BASE_URL,
        headers={"Authorization": f"Bearer {token}"} if token is not None else {},
    )


def hexid(space: IdSpace, ident: int) -> str:
    return space.hex(ident)


def peer_json(space: IdSpace, ref: PeerRef) -> dict[str, str]:
    return {"id": space.hex(ref.id), "grpc_address": ref.grpc_address, "http_url": ref.http_url}


def middle_node(cluster: MemoryCluster) -> ChordNode:
    """A node that is neither the smallest nor the largest id, so ring order wraps past 0."""
    ids = sorted(cluster.nodes)
    return cluster.nodes[ids[len(ids) // 2]]


@pytest.fixture
async def ring() -> MemoryCluster:
    return await build_ring(8)


@pytest.fixture
async def node(ring: MemoryCluster) -> ChordNode:
    return middle_node(ring)


@pytest.fixture
async def http(node: ChordNode) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_app(node, auth=TEST_AUTH)) as client:
        yield client


def sync_transport(portal: BlockingPortal, app: FastAPI) -> httpx.MockTransport:
    """A blocking httpx transport that serves ``app`` on ``portal``'s event loop (what Starlette's
    TestClient does, built from public pieces so the sync client can be tested without sockets)."""
    asgi = httpx.ASGITransport(app=app)

    async def forward(request: httpx.Request) -> httpx.Response:
        response = await asgi.handle_async_request(request)
        content = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, content=content)

    def handle(request: httpx.Request) -> httpx.Response:
        return portal.call(forward, request)

    return httpx.MockTransport(handle)
