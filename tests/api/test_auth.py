"""Who may command a node over REST: the token on writes and operations, closed reads, the
failure limiter, and no cross-site action."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from chordshare.api.app import create_app, install_files
from chordshare.api.auth import FAILURE_LIMIT, AuthPolicy, FailureLimiter
from chordshare.node.ring.chord import ChordNode
from tests.api.conftest import TEST_AUTH, TOKEN, client_for
from tests.api.files_helpers import FilesRing, make_ring

OWN = "http://node.test"
NO_FILES: Any = object()
"""install_files only stores the facade: the docs need no working one."""


class Leaves:
    def __init__(self) -> None:
        self.calls = 0
        self.done = asyncio.Event()

    async def __call__(self) -> None:
        self.calls += 1
        self.done.set()


def leave_app(node: ChordNode, leaves: Leaves, allowed_origins: tuple[str, ...] = ()) -> FastAPI:
    auth = AuthPolicy(token=TOKEN, own_origins=frozenset({OWN}), allowed_origins=allowed_origins)
    return create_app(node, on_leave=leaves, auth=auth)


async def test_leave_needs_the_token(node: ChordNode) -> None:
    leaves = Leaves()
    app = leave_app(node, leaves)
    async with client_for(app, token=None) as anyone:
        missing = await anyone.post("/api/v1/leave")
        wrong = await anyone.post("/api/v1/leave", headers={"Authorization": "Bearer nope"})
        basic = await anyone.post("/api/v1/leave", headers={"Authorization": "Basic eDp5"})
        in_query = await anyone.post("/api/v1/leave", params={"token": TOKEN})
        in_query2 = await anyone.post("/api/v1/leave", params={"access_token": TOKEN})
        assert (await anyone.get("/healthz")).json()["status"] == "ok"
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"] == "Unauthorized"
    assert wrong.status_code == 403
    assert basic.status_code == 401
    assert in_query.status_code == in_query2.status_code == 400
    assert "query string" in in_query.json()["detail"]
    assert leaves.calls == 0
    async with client_for(app) as owner:
        assert (await owner.post("/api/v1/leave")).status_code == 202
    await asyncio.wait_for(leaves.done.wait(), timeout=10)
    assert leaves.calls == 1


async def test_reads_stay_open_and_ignore_a_query_token(node: ChordNode) -> None:
    async with client_for(create_app(node, auth=TEST_AUTH), token=None) as anyone:
        for path in ("/api/v1/node", "/api/v1/peers", "/api/v1/ring", "/healthz", "/metrics"):
            assert (await anyone.get(path)).status_code == 200, path
        assert (await anyone.get("/api/v1/lookup", params={"key": "a"})).status_code == 200
        assert (await anyone.get("/api/v1/node", params={"token": "x"})).status_code == 200
        assert (await anyone.get("/openapi.json")).status_code == 200
        assert (await anyone.get("/docs")).status_code == 200


async def test_closed_reads_need_the_token_except_healthz(node: ChordNode) -> None:
    app = create_app(node, auth=AuthPolicy(token=TOKEN, closed_reads=True))
    async with client_for(app, token=None) as anyone:
        for path in ("/api/v1/node", "/api/v1/peers", "/api/v1/ring", "/metrics"):
            assert (await anyone.get(path)).status_code == 401, path
        assert (await anyone.get("/api/v1/lookup", params={"key": "a"})).status_code == 401
        assert (await anyone.get("/healthz")).status_code == 200
    async with client_for(app) as owner:
        assert (await owner.get("/api/v1/node")).status_code == 200
        assert (await owner.get("/metrics")).status_code == 200


async def test_repeated_failures_are_429_and_other_clients_are_still_served(
    node: ChordNode,
) -> None:
    leaves = Leaves()
    app = leave_app(node, leaves)
    async with client_for(app, token="guess", address="192.0.2.7") as guesser:
        answers = [(await guesser.post("/api/v1/leave")).status_code for _ in range(FAILURE_LIMIT)]
        blocked = await guesser.post("/api/v1/leave")
        right = await guesser.post("/api/v1/leave", headers={"Authorization": f"Bearer {TOKEN}"})
        assert (await guesser.get("/api/v1/node")).status_code == 200  # reads are open
    assert answers == [403] * FAILURE_LIMIT
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    assert right.status_code == 429  # blocked for the window, even with the token
    async with client_for(app, address="192.0.2.8") as owner:
        assert (await owner.post("/api/v1/leave")).status_code == 202
    await asyncio.wait_for(leaves.done.wait(), timeout=10)
    assert leaves.calls == 1


def test_the_limiter_forgets_after_its_window_and_stays_bounded() -> None:
    now = [0.0]
    limiter = FailureLimiter(limit=2, window=60, capacity=3, now=lambda: now[0])
    limiter.failed("a")
    assert limiter.retry_after("a") is None
    limiter.failed("a")
    assert limiter.retry_after("a") == 60
    now[0] = 59.5
    assert limiter.retry_after("a") == 1
    now[0] = 60.0
    assert limiter.retry_after("a") is None
    for address in ("b", "c", "d", "e", "f"):
        limiter.failed(address)
    assert len(limiter) == 3


async def test_cross_site_form_posts_and_foreign_origins_are_refused(node: ChordNode) -> None:
    leaves = Leaves()
    app = leave_app(node, leaves)
    async with client_for(app) as browser:
        for kind in (
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "text/plain;charset=UTF-8",
        ):
            form = await browser.post(
                "/api/v1/leave",
                content=b"a=b",
                headers={"Content-Type": kind, "Origin": "http://evil.example"},
            )
            assert form.status_code == 415, kind
        foreign = await browser.post("/api/v1/leave", headers={"Origin": "http://evil.example"})
        assert foreign.status_code == 403
        assert "origin" in foreign.json()["detail"]
        assert (await browser.get("/healthz")).json()["status"] == "ok"
        assert leaves.calls == 0
        own = await browser.post("/api/v1/leave", headers={"Origin": OWN})
        assert own.status_code == 202


async def test_cors_is_closed_by_default_and_open_to_allowed_origins_only(
    node: ChordNode,
) -> None:
    closed = create_app(node, auth=TEST_AUTH)
    async with client_for(closed) as http:
        answer = await http.get("/api/v1/node", headers={"Origin": "http://app.example"})
        assert "access-control-allow-origin" not in answer.headers
    leaves = Leaves()
    app = leave_app(node, leaves, allowed_origins=("http://app.example",))
    async with client_for(app) as http:
        ok = await http.get("/api/v1/node", headers={"Origin": "http://app.example"})
        assert ok.headers["access-control-allow-origin"] == "http://app.example"
        other = await http.get("/api/v1/node", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        assert (
            await http.post("/api/v1/leave", headers={"Origin": "http://app.example"})
        ).status_code == 202


@pytest.fixture
async def files_ring(tmp_path: Path) -> FilesRing:
    return await make_ring(tmp_path / "nodes", 3, max_file_bytes=1 << 20)


async def test_uploads_need_the_token_and_store_nothing_without_it(
    files_ring: FilesRing,
) -> None:
    member = files_ring.members[0]
    async with client_for(member.app, token=None) as anyone:
        missing = await anyone.put("/api/v1/network/files/x", content=b"stranger bytes")
        wrong = await anyone.put(
            "/api/v1/network/files/x",
            content=b"stranger bytes",
            headers={"Authorization": "Bearer wrong"},
        )
        form = await anyone.put(
            "/api/v1/network/files/x",
            content=b"a=b",
            headers={
                "Authorization": f"Bearer {TOKEN}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
    assert (missing.status_code, wrong.status_code, form.status_code) == (401, 403, 415)
    assert all(not m.files.held_files() for m in files_ring.members)
    async with member.http() as owner:
        stored = await owner.put("/api/v1/network/files/x", content=b"owner bytes")
    assert stored.status_code == 201
    await files_ring.close()


async def test_openapi_declares_the_bearer_scheme_and_the_refusals(node: ChordNode) -> None:
    app = install_files(create_app(node, auth=TEST_AUTH), NO_FILES)
    async with client_for(app) as http:
        doc = (await http.get("/openapi.json")).json()
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    leave = doc["paths"]["/api/v1/leave"]["post"]
    put = doc["paths"]["/api/v1/network/files/{name}"]["put"]
    for op in (leave, put):
        assert op["security"] == [{"bearer": []}]
        assert {"401", "403", "415", "429"} <= set(op["responses"])
    assert "security" not in doc["paths"]["/api/v1/node"]["get"]
