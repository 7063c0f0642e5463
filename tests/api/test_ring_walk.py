"""``GET /api/v1/ring``: the walk along successors, its stop reasons and its bounds."""

from __future__ import annotations

import httpx
import pytest

from chordshare.api.app import create_app
from chordshare.node.ring.chord import ChordNode
from chordshare.node.ring.walk import DEFAULT_WALK_LIMIT, MAX_WALK_LIMIT, walk_ring
from chordshare.sim.cluster import MemoryCluster
from tests.api.conftest import build_ring, client_for


def rotated_ids(ring: MemoryCluster, start: int) -> list[str]:
    ids = sorted(ring.nodes)
    i = ids.index(start)
    return [ring.space.hex(x) for x in ids[i:] + ids[:i]]


async def test_walk_visits_every_node_in_ring_order(
    ring: MemoryCluster, node: ChordNode, http: httpx.AsyncClient
) -> None:
    response = await http.get("/api/v1/ring")
    assert response.status_code == 200
    body = response.json()
    assert [p["id"] for p in body["nodes"]] == rotated_ids(ring, node.me.id)
    assert body["nodes"][0]["grpc_address"] == node.me.grpc_address
    assert body["closed"] is True
    assert body["stopped"] == "closed"
    assert body["unreachable"] == []


async def test_walk_from_every_node_of_a_larger_ring() -> None:
    # 40 nodes, more than the successor list holds: the walk must hop node by node.
    ring = await build_ring(40, seed=9)
    for ident in sorted(ring.nodes)[::7]:
        async with client_for(create_app(ring.nodes[ident])) as http:
            body = (await http.get("/api/v1/ring")).json()
        assert [p["id"] for p in body["nodes"]] == rotated_ids(ring, ident)
        assert body["closed"] is True


@pytest.mark.parametrize("limit", [1, 2, 7])
async def test_limit_bounds_the_walk(
    ring: MemoryCluster, node: ChordNode, http: httpx.AsyncClient, limit: int
) -> None:
    body = (await http.get("/api/v1/ring", params={"limit": limit})).json()
    assert [p["id"] for p in body["nodes"]] == rotated_ids(ring, node.me.id)[:limit]
    assert body["closed"] is False
    assert body["stopped"] == "limit"


async def test_limit_equal_to_the_ring_size_still_closes(
    ring: MemoryCluster, http: httpx.AsyncClient
) -> None:
    body = (await http.get("/api/v1/ring", params={"limit": len(ring.nodes)})).json()
    assert len(body["nodes"]) == len(ring.nodes)
    assert body["closed"] is True


@pytest.mark.parametrize("limit", ["0", "-1", str(MAX_WALK_LIMIT + 1), "many", "1.5"])
async def test_bad_limits_are_422_with_a_detail(http: httpx.AsyncClient, limit: str) -> None:
    response = await http.get("/api/v1/ring", params={"limit": limit})
    assert response.status_code == 422
    assert "limit" in response.json()["detail"]
    assert isinstance(response.json()["detail"], str)


async def test_unreachable_successor_is_skipped_and_reported(
    ring: MemoryCluster, node: ChordNode, http: httpx.AsyncClient
) -> None:
    ids = rotated_ids(ring, node.me.id)
    dead = ring.nodes[int(ids[3], 16)]
    ring.crash(dead)  # not yet repaired: its predecessor still lists it first
    body = (await http.get("/api/v1/ring")).json()
    assert [p["id"] for p in body["nodes"]] == ids[:3] + ids[4:]
    assert [p["id"] for p in body["unreachable"]] == [ids[3]]
    assert body["closed"] is True


async def test_all_successors_dead_is_a_dead_end(
    ring: MemoryCluster, node: ChordNode, http: httpx.AsyncClient
) -> None:
    others = [n for n in ring.nodes.values() if n is not node]
    for other in others:
        ring.crash(other)
    body = (await http.get("/api/v1/ring")).json()
    assert [p["id"] for p in body["nodes"]] == [ring.space.hex(node.me.id)]
    assert body["stopped"] == "dead_end"
    assert body["closed"] is False
    assert len(body["unreachable"]) == len(node.table.successors)


async def test_chain_that_passes_the_start_is_wrapped(
    ring: MemoryCluster, node: ChordNode, http: httpx.AsyncClient
) -> None:
    # The predecessor has not learned about this node: its successors skip it.
    pred = ring.nodes[ring.oracle().predecessor(node.me.id)]
    pred.table.successors.replace(p for p in pred.table.successors.peers() if p.id != node.me.id)
    body = (await http.get("/api/v1/ring")).json()
    assert [p["id"] for p in body["nodes"]] == rotated_ids(ring, node.me.id)
    assert body["stopped"] == "wrapped"
    assert body["closed"] is False


async def test_node_naming_itself_as_successor_is_wrapped(
    ring: MemoryCluster, node: ChordNode, http: httpx.AsyncClient
) -> None:
    ids = rotated_ids(ring, node.me.id)
    lost = ring.nodes[int(ids[2], 16)]
    lost.table.successors.replace(())  # believes it is alone
    body = (await http.get("/api/v1/ring")).json()
    assert [p["id"] for p in body["nodes"]] == ids[:3]
    assert body["stopped"] == "wrapped"


async def test_lone_node_walk_is_closed() -> None:
    ring = MemoryCluster(bits=32, seed=4)
    alone = await ring.join()
    async with client_for(create_app(alone)) as http:
        body = (await http.get("/api/v1/ring")).json()
    assert [p["id"] for p in body["nodes"]] == [ring.space.hex(alone.me.id)]
    assert body["closed"] is True


async def test_walk_ring_rejects_limits_outside_its_bounds(node: ChordNode) -> None:
    for limit in (0, MAX_WALK_LIMIT + 1):
        with pytest.raises(ValueError, match="limit"):
            await walk_ring(node, limit)
    assert 1 <= DEFAULT_WALK_LIMIT <= MAX_WALK_LIMIT
