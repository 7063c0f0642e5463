"""``GET /api/v1/node`` and ``GET /api/v1/peers`` against the true ring."""

from __future__ import annotations

import itertools

import httpx

from chordshare.api.app import create_app
from chordshare.node.ring.chord import ChordNode
from chordshare.sim.cluster import MemoryCluster
from tests.api.conftest import build_ring, client_for, peer_json


async def test_node_identity_and_tables_match_the_oracle(
    ring: MemoryCluster, node: ChordNode, http: httpx.AsyncClient
) -> None:
    response = await http.get("/api/v1/node")
    assert response.status_code == 200
    body = response.json()
    space, oracle = ring.space, ring.oracle()
    assert body["id"] == space.hex(node.me.id)
    assert body["id"] == body["id"].lower()
    assert len(body["id"]) == 8
    assert body["grpc_address"] == node.me.grpc_address
    assert body["http_url"] == node.me.http_url
    assert body["predecessor"]["id"] == space.hex(oracle.predecessor(node.me.id))
    assert [p["id"] for p in body["successors"]] == [
        space.hex(i) for i in oracle.successors(node.me.id, node.table.successors.size)
    ]
    assert body["ring_bits"] == 32
    assert body["successor_list_size"] == node.table.successors.size
    assert body["estimated_nodes"] == node.estimated_ring_size()


async def test_fingers_are_runs_of_equal_entries(
    ring: MemoryCluster, node: ChordNode, http: httpx.AsyncClient
) -> None:
    runs = (await http.get("/api/v1/node")).json()["fingers"]
    space, oracle = ring.space, ring.oracle()
    assert runs, "a converged ring of 8 has fingers"
    covered: list[int] = []
    for before, after in itertools.pairwise(runs):
        assert before["last_index"] < after["index"]
        assert (
            before["peer"]["id"] != after["peer"]["id"] or before["last_index"] + 1 < after["index"]
        )
    for run in runs:
        assert run["index"] <= run["last_index"]
        assert run["start"] == space.hex(space.finger_start(node.me.id, run["index"]))
        for i in range(run["index"], run["last_index"] + 1):
            covered.append(i)
            assert run["peer"]["id"] == space.hex(oracle.finger(node.me.id, i))
    filled = [i for i, e in enumerate(node.table.fingers.entries()) if e is not None]
    assert covered == filled


async def test_peers_lists_the_known_peers_in_ring_order(
    ring: MemoryCluster, node: ChordNode, http: httpx.AsyncClient
) -> None:
    response = await http.get("/api/v1/peers")
    assert response.status_code == 200
    body = response.json()
    assert body["node"] == peer_json(ring.space, node.me)
    assert body["peers"] == [peer_json(ring.space, p) for p in node.table.known_peers()]
    others = sorted(ring.nodes, key=lambda i: ring.space.distance(node.me.id, i))[1:]
    assert [p["id"] for p in body["peers"]] == [ring.space.hex(i) for i in others]


async def test_node_with_id_zero() -> None:
    ring = await build_ring(4, bits=16, ids=[0, 0x4000, 0x8000, 0xC000])
    zero = ring.nodes[0]
    async with client_for(create_app(zero)) as http:
        body = (await http.get("/api/v1/node")).json()
        assert body["id"] == "0000"
        assert body["predecessor"]["id"] == "c000"
        assert [p["id"] for p in body["successors"]] == ["4000", "8000", "c000"]
        assert body["fingers"][0]["start"] == "0001"
        assert (await http.get("/healthz")).json() == {"status": "ok", "id": "0000"}
    # Node 0 seen from its predecessor: the successor list wraps through id 0.
    async with client_for(create_app(ring.nodes[0xC000])) as http:
        body = (await http.get("/api/v1/node")).json()
        assert body["successors"][0]["id"] == "0000"


async def test_lone_node_has_no_predecessor_and_no_peers() -> None:
    ring = MemoryCluster(bits=32, seed=3)
    alone = await ring.join()
    async with client_for(create_app(alone)) as http:
        body = (await http.get("/api/v1/node")).json()
        assert body["predecessor"] is None
        assert body["successors"] == []
        assert body["fingers"] == []
        assert body["estimated_nodes"] == 1
        assert (await http.get("/api/v1/peers")).json()["peers"] == []
