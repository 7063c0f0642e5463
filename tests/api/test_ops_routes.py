"""``GET /healthz``, ``POST /api/v1/leave`` and ``GET /metrics``."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.parser import text_string_to_metric_families

from chordshare.api.app import create_app
from chordshare.api.deps import app_context
from chordshare.api.metrics import HOP_BUCKETS, hop_buckets
from chordshare.node.ring.chord import ChordNode
from chordshare.sim.cluster import MemoryCluster
from tests.api.conftest import TEST_AUTH, client_for

METRIC_NAMES = {
    "chordshare_lookups",
    "chordshare_lookups_failed",
    "chordshare_peers_failed",
    "chordshare_lookup_hops",
    "chordshare_successor_list_length",
    "chordshare_successor_list_size",
    "chordshare_fingers_filled",
    "chordshare_fingers_distinct",
    "chordshare_known_peers",
    "chordshare_has_predecessor",
    "chordshare_estimated_nodes",
    "chordshare_ring_bits",
    "chordshare_node_info",
}


def samples(text: str) -> dict[str, float]:
    """Unlabelled samples by name, plus ``name{le}`` for histogram buckets."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            suffix = f"{{{sample.labels['le']}}}" if "le" in sample.labels else ""
            out[sample.name + suffix] = sample.value
    return out


async def test_healthz(ring: MemoryCluster, node: ChordNode, http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "id": ring.space.hex(node.me.id)}
    node.left = True
    assert (await http.get("/healthz")).json()["status"] == "leaving"


async def test_leave_without_a_handler_is_501(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/v1/leave")
    assert response.status_code == 501
    assert "leave handler" in response.json()["detail"]


async def test_leave_runs_the_handler_once_in_the_background(
    ring: MemoryCluster, node: ChordNode
) -> None:
    calls: list[str] = []
    release = asyncio.Event()
    done = asyncio.Event()

    async def on_leave() -> None:
        calls.append("leave")
        await release.wait()  # the reply must not wait for the leave to finish
        await ring.leave(node)
        done.set()

    async with client_for(create_app(node, on_leave=on_leave, auth=TEST_AUTH)) as http:
        first = await http.post("/api/v1/leave")
        second = await http.post("/api/v1/leave")
        release.set()
        await asyncio.wait_for(done.wait(), timeout=10)
    for response in (first, second):
        assert response.status_code == 202
        assert response.json() == {"status": "leaving", "id": ring.space.hex(node.me.id)}
    assert calls == ["leave"]
    assert node.left
    assert node.me.id not in ring.nodes


async def test_leave_handler_failure_is_logged(
    node: ChordNode, caplog: pytest.LogCaptureFixture
) -> None:
    failed = asyncio.Event()

    async def on_leave() -> None:
        failed.set()
        raise RuntimeError("neighbours unreachable")

    app = create_app(node, on_leave=on_leave, auth=TEST_AUTH)
    async with client_for(app) as http:
        assert (await http.post("/api/v1/leave")).status_code == 202
    task = app.state.chordshare.leave_task
    with pytest.raises(RuntimeError):
        await task
    assert failed.is_set()
    assert "graceful leave failed" in caplog.text


async def test_get_on_leave_is_405(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/v1/leave")
    assert response.status_code == 405
    assert isinstance(response.json()["detail"], str)


async def test_metrics_expose_node_stats_and_tables(
    ring: MemoryCluster, node: ChordNode, http: httpx.AsyncClient
) -> None:
    for key in ("a", "b", "c"):
        assert (await http.get(f"/api/v1/lookup/{key}")).status_code == 200
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name for f in text_string_to_metric_families(response.text)}
    assert families >= METRIC_NAMES
    values = samples(response.text)
    stats, table = node.stats, node.table
    assert stats.lookups >= 3
    assert values["chordshare_lookups_total"] == stats.lookups
    assert values["chordshare_lookups_failed_total"] == stats.lookups_failed
    assert values["chordshare_peers_failed_total"] == stats.peers_failed
    assert values["chordshare_lookup_hops_count"] == stats.lookups
    assert values["chordshare_lookup_hops_sum"] == sum(h * n for h, n in stats.hop_counts.items())
    assert values["chordshare_lookup_hops_bucket{+Inf}"] == stats.lookups
    assert values["chordshare_successor_list_length"] == len(table.successors) == 7
    assert values["chordshare_fingers_filled"] == sum(
        e is not None for e in table.fingers.entries()
    )
    assert values["chordshare_fingers_distinct"] == len(list(table.fingers.peers()))
    assert values["chordshare_known_peers"] == 7
    assert values["chordshare_has_predecessor"] == 1
    assert values["chordshare_estimated_nodes"] == node.estimated_ring_size()
    assert values["chordshare_ring_bits"] == 32
    assert f'id="{ring.space.hex(node.me.id)}"' in response.text


async def test_metrics_are_read_at_scrape_time(node: ChordNode, http: httpx.AsyncClient) -> None:
    before = samples((await http.get("/metrics")).text)["chordshare_lookups_total"]
    await node.lookup_key("not through the API")
    after = samples((await http.get("/metrics")).text)["chordshare_lookups_total"]
    assert after == before + 1


async def test_metrics_share_the_injected_registry(node: ChordNode) -> None:
    registry = CollectorRegistry()
    rpcs = Counter(
        "chordshare_rpc_calls", "RPCs served (another layer's metric).", registry=registry
    )
    rpcs.inc(5)
    async with client_for(create_app(node, registry=registry)) as http:
        text = (await http.get("/metrics")).text
    assert "chordshare_rpc_calls_total 5.0" in text
    assert "chordshare_lookups_total" in text
    with pytest.raises(ValueError, match="Duplicated"):
        create_app(node, registry=registry)


def test_hop_buckets_are_cumulative() -> None:
    buckets, total = hop_buckets({0: 2, 1: 3, 9: 1, 100: 1})
    as_dict = dict(buckets)
    assert [b for b, _ in buckets] == [*map(str, HOP_BUCKETS), "+Inf"]
    assert as_dict["0"] == 2
    assert as_dict["1"] == 5
    assert as_dict["8"] == 5
    assert as_dict["10"] == 6
    assert as_dict["48"] == 6
    assert as_dict["+Inf"] == 7
    assert total == 0 + 3 + 9 + 100
    assert hop_buckets({}) == ([*((str(b), 0) for b in HOP_BUCKETS), ("+Inf", 0)], 0.0)


async def test_readyz_answers_503_until_ready_and_once_leaving(
    ring: MemoryCluster, node: ChordNode
) -> None:
    app = create_app(node, auth=TEST_AUTH)
    joined = False
    app_context(app).ready = lambda: joined
    async with client_for(app) as http:
        before = await http.get("/readyz")
        assert before.status_code == 503
        assert before.json() == {"status": "joining", "id": ring.space.hex(node.me.id)}
        joined = True
        after = await http.get("/readyz")
        assert after.status_code == 200
        assert after.json()["status"] == "ready"
        node.left = True
        leaving = await http.get("/readyz")
        assert leaving.status_code == 503
        assert leaving.json()["status"] == "leaving"


async def test_readyz_answers_503_as_soon_as_a_stop_is_requested(
    ring: MemoryCluster, node: ChordNode
) -> None:
    """Between SIGTERM and the leave itself (maintenance winds down first) the node still serves
    the ring, but a load balancer must stop sending it new work at once."""
    app = create_app(node, auth=TEST_AUTH)
    stopping = False
    app_context(app).stopping = lambda: stopping
    async with client_for(app) as http:
        assert (await http.get("/readyz")).status_code == 200
        stopping = True
        answer = await http.get("/readyz")
        assert answer.status_code == 503
        assert answer.json()["status"] == "leaving"
        assert node.left is False
        assert (await http.get("/healthz")).json()["status"] == "ok"


async def test_readyz_without_a_readiness_signal_is_ready(http: httpx.AsyncClient) -> None:
    assert (await http.get("/readyz")).status_code == 200
