"""``GET /api/v1/lookup/{key}`` and ``GET /api/v1/lookup?key=|id=`` against the oracle."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chordshare.api.app import create_app
from chordshare.api.inputs import MAX_KEY_BYTES
from chordshare.node.ring.chord import ChordNode
from chordshare.node.ring.settings import RingSettings
from chordshare.sim.cluster import MemoryCluster
from tests.api.conftest import build_ring, client_for, peer_json

KEYS = ["holiday.jpg", "a/b/c.txt", "with space", "ünïcødé ☃", "?#&=%", "..x", "\x00nul", "0"]


def key_id(space_bits: int, key: str) -> int:
    return int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest(), "big") % (1 << space_bits)


@pytest.mark.parametrize("key", KEYS)
async def test_key_lookup_finds_the_oracle_owner(
    ring: MemoryCluster, node: ChordNode, http: httpx.AsyncClient, key: str
) -> None:
    space, oracle = ring.space, ring.oracle()
    ident = key_id(32, key)
    assert ident == space.hash_key(key)
    for url, params in (
        (f"/api/v1/lookup/{quote(key, safe='')}", None),
        ("/api/v1/lookup", {"key": key}),
    ):
        response = await http.get(url, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["key"] == key
        assert body["key_id"] == space.hex(ident)
        assert body["owner"] == peer_json(space, ring.nodes[oracle.successor(ident)].me)
        assert body["hops"] == len(body["path"])
        assert body["timeouts"] == 0
        expected_after = oracle.successors(oracle.successor(ident), len(body["successors"]))
        assert [p["id"] for p in body["successors"]] == [space.hex(i) for i in expected_after]


async def test_dot_keys_travel_in_the_query(ring: MemoryCluster, http: httpx.AsyncClient) -> None:
    for key in (".", ".."):
        body = (await http.get("/api/v1/lookup", params={"key": key})).json()
        assert body["key_id"] == ring.space.hex(ring.space.hash_key(key))


async def test_path_lookups_record_hops_and_path(
    ring: MemoryCluster, node: ChordNode, http: httpx.AsyncClient
) -> None:
    # Keys far from this node's successor list need remote hops; each hop is a known node.
    space = ring.space
    for ident in [space.add(node.me.id, space.size // 2 + k * 12345) for k in range(10)]:
        body = (await http.get("/api/v1/lookup", params={"id": space.hex(ident)})).json()
        assert body["key"] is None
        assert body["owner"]["id"] == space.hex(ring.oracle().successor(ident))
        assert all(int(p["id"], 16) in ring.nodes for p in body["path"])
        assert body["hops"] == len(body["path"])


async def test_id_lookup_at_the_edges(ring: MemoryCluster, http: httpx.AsyncClient) -> None:
    space, oracle = ring.space, ring.oracle()
    for text, ident in [
        ("0", 0),
        ("00000000", 0),
        ("ffffffff", space.size - 1),
        ("FFFFFFFF", space.size - 1),
        *((space.hex(i), i) for i in ring.nodes),  # a node owns its own id
        *((space.hex(space.add(i, 1)), space.add(i, 1)) for i in ring.nodes),
    ]:
        response = await http.get("/api/v1/lookup", params={"id": text})
        assert response.status_code == 200, (text, response.text)
        body = response.json()
        assert body["key_id"] == space.hex(ident)
        assert body["owner"]["id"] == space.hex(oracle.successor(ident)), text


async def test_id_lookup_on_a_ring_holding_id_zero() -> None:
    ring = await build_ring(3, bits=16, ids=[0, 0x5000, 0xA000])
    async with client_for(create_app(ring.nodes[0x5000])) as http:
        for text, owner in [("0", "0000"), ("ffff", "0000"), ("a001", "0000"), ("1", "5000")]:
            body = (await http.get("/api/v1/lookup", params={"id": text})).json()
            assert body["owner"]["id"] == owner, text


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"id": "xyz"}, "hex digits"),
        ({"id": "0x10"}, "hex digits"),
        ({"id": "-1"}, "hex digits"),
        ({"id": " 1f"}, "hex digits"),
        ({"id": "1_0"}, "hex digits"),
        ({"id": ""}, "hex digits"),
        ({"id": "100000000"}, "hex digits; this 32-bit ring uses 8"),
        ({"id": "f" * 5000}, "hex digits; this 32-bit ring uses 8"),
        ({}, "exactly one"),
        ({"id": "1", "key": "a"}, "exactly one"),
        ({"key": ""}, "must not be empty"),
        ({"key": "k" * (MAX_KEY_BYTES + 1)}, f"at most {MAX_KEY_BYTES}"),
        ({"key": "é" * (MAX_KEY_BYTES // 2 + 1)}, f"at most {MAX_KEY_BYTES}"),
    ],
)
async def test_bad_lookups_are_400_with_a_detail(
    http: httpx.AsyncClient, params: dict[str, str], fragment: str
) -> None:
    response = await http.get("/api/v1/lookup", params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert fragment in body["detail"]
    assert body["error"] == "InvalidInput"


async def test_out_of_range_id_on_a_ring_narrower_than_its_hex() -> None:
    # 10 bits print as 3 hex digits, so "3ff" is the largest id and "400" is outside the ring.
    ring = MemoryCluster(bits=10, seed=2)
    alone = await ring.join()
    async with client_for(create_app(alone)) as http:
        assert (await http.get("/api/v1/lookup", params={"id": "3ff"})).status_code == 200
        response = await http.get("/api/v1/lookup", params={"id": "400"})
        assert response.status_code == 400
        assert "outside the 10-bit ring" in response.json()["detail"]


async def test_bad_path_keys(http: httpx.AsyncClient) -> None:
    empty = await http.get("/api/v1/lookup/")
    assert empty.status_code == 400
    assert "empty" in empty.json()["detail"]
    long = await http.get("/api/v1/lookup/" + "k" * (MAX_KEY_BYTES + 1))
    assert long.status_code == 400
    exact = await http.get("/api/v1/lookup/" + "k" * MAX_KEY_BYTES)
    assert exact.status_code == 200


async def test_failed_lookup_is_503() -> None:
    # Paper mode (no failover, one successor): a lookup whose next hop is dead fails.
    ring = MemoryCluster(
        bits=16, seed=5, settings=RingSettings(successor_list_size=1, lookup_failover=False)
    )
    for _ in range(8):
        await ring.join()
    await ring.converge()
    await ring.refresh_fingers()
    ids = sorted(ring.nodes)
    origin = ring.nodes[ids[0]]
    far = ring.space.add(origin.me.id, ring.space.size // 2)
    hop = origin.table.next_hop(far).peers[0]
    ring.crash(ring.nodes[hop.id])
    before = origin.stats.lookups_failed
    async with client_for(create_app(origin)) as http:
        response = await http.get("/api/v1/lookup", params={"id": ring.space.hex(far)})
    assert response.status_code == 503
    assert response.json()["error"] == "LookupFailed"
    assert origin.stats.lookups_failed == before + 1


# The ring is only read, so sharing the function-scoped fixtures across examples is safe.
@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.text(max_size=40))
async def test_arbitrary_keys_never_500(http: httpx.AsyncClient, key: str) -> None:
    for url, params in (
        (f"/api/v1/lookup/{quote(key, safe='')}", None),
        ("/api/v1/lookup", {"key": key}),
        ("/api/v1/lookup", {"id": key}),
    ):
        response = await http.get(url, params=params)
        assert response.status_code < 500, (url, params, response.text)
        assert isinstance(response.json()["detail" if response.is_error else "key_id"], str)
