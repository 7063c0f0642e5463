"""``NodeApi`` / ``AsyncNodeApi`` against the ASGI app, and their error translation."""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx
import pytest
from anyio.from_thread import start_blocking_portal
from fastapi import FastAPI

from chordshare import errors
from chordshare.api.app import create_app
from chordshare.api.schemas.ring import Peer
from chordshare.client import AsyncNodeApi, NodeApi
from chordshare.client.rest import normalize_base_url
from chordshare.node.ring.chord import ChordNode
from chordshare.node.ring.settings import RingSettings
from chordshare.ring import PeerRef
from chordshare.sim.cluster import MemoryCluster
from tests.api.conftest import (
    BASE_URL,
    TEST_AUTH,
    TOKEN,
    build_ring,
    middle_node,
    sync_transport,
)


def api_for(app: FastAPI) -> AsyncNodeApi:
    return AsyncNodeApi(BASE_URL, transport=httpx.ASGITransport(app=app), token=TOKEN)


def mock_api(handler: Callable[[httpx.Request], httpx.Response]) -> AsyncNodeApi:
    return AsyncNodeApi(BASE_URL, transport=httpx.MockTransport(handler))


async def test_async_client_reads_every_endpoint(ring: MemoryCluster, node: ChordNode) -> None:
    space, oracle = ring.space, ring.oracle()
    done: list[str] = []

    async def on_leave() -> None:
        done.append("left")

    async with api_for(create_app(node, on_leave=on_leave, auth=TEST_AUTH)) as api:
        view = await api.node()
        assert view.id == space.hex(node.me.id)
        assert view.peer().to_ref() == node.me
        assert view.predecessor is not None
        assert view.predecessor.to_ref().id == oracle.predecessor(node.me.id)
        peers = await api.peers()
        assert [p.to_ref() for p in peers.peers] == node.table.known_peers()
        for key in ("holiday.jpg", ".", "..", "a/b?c#d"):
            answer = await api.lookup(key)
            assert answer.key == key
            assert answer.owner.to_ref().id == oracle.successor(space.hash_key(key))
        for ident in (0, space.size - 1, *ring.nodes):
            answer = await api.lookup_id(ident)
            assert answer.key is None
            assert answer.owner.to_ref().id == oracle.successor(ident)
        assert (await api.lookup_id("00000000")).owner.id == space.hex(oracle.successor(0))
        walk = await api.ring()
        assert walk.closed
        assert len(walk.nodes) == len(ring.nodes)
        assert len((await api.ring(limit=2)).nodes) == 2
        health = await api.health()
        assert (health.status, health.id) == ("ok", view.id)
        accepted = await api.leave()
        assert (accepted.status, accepted.id) == ("leaving", view.id)


async def test_async_client_raises_the_servers_errors(node: ChordNode) -> None:
    async with api_for(create_app(node, auth=TEST_AUTH)) as api:
        with pytest.raises(errors.InvalidInput, match="hex digits"):
            await api.lookup_id("xyz")
        with pytest.raises(errors.InvalidInput, match="must not be empty"):
            await api.lookup("")
        with pytest.raises(errors.InvalidInput, match="limit"):
            await api.ring(limit=0)
        with pytest.raises(errors.InvalidInput, match="leave handler"):
            await api.leave()


async def test_async_client_raises_lookup_failed() -> None:
    ring = MemoryCluster(
        bits=16, seed=5, settings=RingSettings(successor_list_size=1, lookup_failover=False)
    )
    for _ in range(8):
        await ring.join()
    await ring.converge()
    await ring.refresh_fingers()
    origin = ring.nodes[min(ring.nodes)]
    far = ring.space.add(origin.me.id, ring.space.size // 2)
    ring.crash(ring.nodes[origin.table.next_hop(far).peers[0].id])
    async with api_for(create_app(origin)) as api:
        with pytest.raises(errors.LookupFailed, match="failed"):
            await api.lookup_id(far)


def test_sync_client_against_the_app() -> None:
    with start_blocking_portal() as portal:
        ring = portal.call(build_ring, 5)
        node = middle_node(ring)
        transport = sync_transport(portal, create_app(node, auth=TEST_AUTH))
        with NodeApi(BASE_URL, transport=transport, token=TOKEN) as api:
            assert api.node().id == ring.space.hex(node.me.id)
            assert len(api.peers().peers) == 4
            owner = api.lookup("holiday.jpg").owner.to_ref().id
            assert owner == ring.oracle().successor(ring.space.hash_key("holiday.jpg"))
            assert api.lookup_id(0).owner.to_ref().id == ring.oracle().successor(0)
            assert api.ring().closed
            assert api.health().status == "ok"
            with pytest.raises(errors.InvalidInput, match=r"outside|hex digits"):
                api.lookup_id("1" * 9)
            with pytest.raises(errors.InvalidInput, match="leave handler"):
                api.leave()


def refusing_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_connection_refused_is_peer_unavailable() -> None:
    port = refusing_port()
    async with AsyncNodeApi(f"127.0.0.1:{port}", timeout=5, retries=1) as api:
        with pytest.raises(errors.PeerUnavailable, match=f"127.0.0.1:{port}"):
            await api.node()
    with (
        NodeApi(f"http://127.0.0.1:{port}", timeout=5, retries=0) as sync_api,
        pytest.raises(errors.PeerUnavailable),
    ):
        sync_api.health()


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectError("refused"), errors.PeerUnavailable),
        (httpx.ReadError("reset"), errors.PeerUnavailable),
        (httpx.ConnectTimeout("slow"), errors.PeerTimeout),
        (httpx.ReadTimeout("slow"), errors.PeerTimeout),
        (httpx.PoolTimeout("busy"), errors.PeerTimeout),
        (httpx.RemoteProtocolError("garbage"), errors.PeerProtocolError),
        (httpx.UnsupportedProtocol("gopher"), errors.InvalidInput),
    ],
)
async def test_transport_errors_are_translated(exc: Exception, expected: type) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    async with mock_api(handler) as api:
        with pytest.raises(expected) as info:
            await api.node()
    assert info.value.__cause__ is exc


@pytest.mark.parametrize(
    ("status", "body", "expected", "message"),
    [
        (404, {"detail": "Not Found"}, errors.NotFound, "Not Found"),
        (400, {"detail": "bad", "error": "InvalidName"}, errors.InvalidName, "bad"),
        (422, {"detail": [{"msg": "x"}]}, errors.InvalidInput, "msg"),
        (418, "teapot", errors.InvalidInput, "teapot"),
        (501, {"detail": "no"}, errors.InvalidInput, "no"),
        (503, {"detail": "down"}, errors.PeerUnavailable, "down"),
        (503, {"detail": "gone", "error": "LookupFailed"}, errors.LookupFailed, "gone"),
        (504, {"detail": "late"}, errors.PeerTimeout, "late"),
        (500, {"detail": "cfg", "error": "ConfigError"}, errors.PeerProtocolError, "HTTP 500"),
        (502, "<html>proxy</html>", errors.PeerProtocolError, "proxy"),
    ],
)
async def test_error_statuses_are_translated(
    status: int, body: object, expected: type, message: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    async with mock_api(handler) as api:
        with pytest.raises(expected, match=message) as info:
            await api.health()
    assert type(info.value) is expected


async def test_answer_that_breaks_the_schema_is_a_protocol_error() -> None:
    async with mock_api(lambda request: httpx.Response(200, json={"id": "zz"})) as api:
        with pytest.raises(errors.PeerProtocolError, match="NodeView"):
            await api.node()
    async with mock_api(lambda request: httpx.Response(200, text="not json")) as api:
        with pytest.raises(errors.PeerProtocolError, match="Health"):
            await api.health()


async def test_requests_reach_the_documented_paths() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url}")
        return httpx.Response(503, json={"detail": "stop here"})

    async with AsyncNodeApi("http://h:1/prefix/", transport=httpx.MockTransport(handler)) as api:
        for call in (api.node, api.peers, api.ring, api.leave, api.health):
            with pytest.raises(errors.PeerUnavailable):
                await call()
        with pytest.raises(errors.PeerUnavailable):
            await api.lookup("a b/c")
        with pytest.raises(errors.PeerUnavailable):
            await api.lookup_id(255)
    assert seen == [
        "GET http://h:1/prefix/api/v1/node",
        "GET http://h:1/prefix/api/v1/peers",
        "GET http://h:1/prefix/api/v1/ring",
        "POST http://h:1/prefix/api/v1/leave",
        "GET http://h:1/prefix/healthz",
        "GET http://h:1/prefix/api/v1/lookup?key=a+b%2Fc",
        "GET http://h:1/prefix/api/v1/lookup?id=ff",
    ]


def test_bad_base_urls_are_invalid_input() -> None:
    # (no resolvable host names here: these must fail before any DNS lookup)
    with pytest.raises(errors.InvalidInput, match="not a usable node URL"):
        NodeApi("http://127.0.0.1:port")
    with pytest.raises(errors.InvalidInput):
        AsyncNodeApi("::::")
    with pytest.raises(errors.InvalidInput), NodeApi("ftp://h:1") as api:
        api.health()


def test_base_url_normalization_and_peer_refs() -> None:
    assert normalize_base_url(" 127.0.0.1:8000/ ") == "http://127.0.0.1:8000"
    assert normalize_base_url("https://h/x/") == "https://h/x"
    ref = PeerRef(0, "h:7000", "http://h:8000")
    assert Peer(id="0000", grpc_address="h:7000", http_url="http://h:8000").to_ref() == ref
