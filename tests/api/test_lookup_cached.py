"""GET /api/v1/lookup on a node that keeps the owner cache: a key in an arc an earlier lookup
confirmed is answered after checking the arc's ends (cached, no hops, no path), with the same
owner as a route; ``routed=true`` routes it hop by hop, as the dashboard asks to draw a path."""

from __future__ import annotations

from chordshare.api.app import create_app
from chordshare.node.ring.settings import RingSettings
from chordshare.sim.cluster import MemoryCluster
from tests.api.conftest import TEST_AUTH, client_for


async def test_a_confirmed_arc_answers_and_routed_still_routes() -> None:
    cluster = MemoryCluster(
        bits=32, seed=4, settings=RingSettings(owner_cache=True, successor_list_size=4)
    )
    for _ in range(16):
        await cluster.join()
    await cluster.converge()
    await cluster.refresh_fingers()
    oracle = cluster.oracle()
    node = cluster.nodes[sorted(cluster.nodes)[0]]
    near = {p.id for p in node.table.successors.peers()} | {node.me.id}
    key = next(
        f"far-{i}"
        for i in range(1000)
        if oracle.successor(cluster.space.hash_key(f"far-{i}")) not in near
    )
    owner = cluster.space.hex(oracle.successor(cluster.space.hash_key(key)))
    async with client_for(create_app(node, auth=TEST_AUTH)) as http:
        first = (await http.get("/api/v1/lookup", params={"key": key})).json()
        again = (await http.get("/api/v1/lookup", params={"key": key})).json()
        routed = (await http.get("/api/v1/lookup", params={"key": key, "routed": "true"})).json()
    assert first["owner"]["id"] == again["owner"]["id"] == routed["owner"]["id"] == owner
    assert first["cached"] is False
    assert first["hops"] >= 1
    assert again["cached"] is True
    assert (again["hops"], again["path"]) == (0, [])
    assert routed["cached"] is False
    assert routed["hops"] >= 1
    assert len(routed["path"]) == routed["hops"]
