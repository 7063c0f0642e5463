"""``/api/v1/events``, ``/transfers`` and ``/status`` on an in-memory ring of nodes with file
sharing: a subscriber sees a join, a graceful leave and a download from start to finish; a
stalled subscriber is dropped while a live one and the node go on."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chordshare.api.deps import app_context
from chordshare.api.routes import events as events_routes
from chordshare.api.schemas.events import NodeStatus, TransferList
from chordshare.node.events import QUEUE_LIMIT
from chordshare.service.observe import observe
from tests.api.files_helpers import FilesRing, Member, make_ring
from tests.api.sse_helpers import SseStream

SIZE = 300_000
EVENTS = "/api/v1/events"


@pytest.fixture
async def ring(tmp_path: Path) -> AsyncIterator[FilesRing]:
    ring = await make_ring(tmp_path / "nodes", 3)
    for member in ring.members:
        watch(ring, member)
    yield ring
    for member in ring.members:
        tracker = app_context(member.app).transfers
        if tracker is not None:  # members added by a test are not watched
            await tracker.close()
    await ring.close()


def watch(ring: FilesRing, member: Member) -> None:
    observe(member.files, app_context(member.app), ring.cluster.clock)


def peer_id(ring: FilesRing, member: Member) -> str:
    return ring.cluster.space.hex(member.node.me.id)


async def test_a_join_is_seen_on_the_stream(ring: FilesRing) -> None:
    first = ring.members[0]
    async with SseStream(first.app, EVENTS) as stream:
        assert stream.status == 200
        assert stream.response_headers["content-type"].startswith("text/event-stream")
        newcomer = await ring.add()
        await ring.converge()
        hexid = peer_id(ring, newcomer)
        seen = await stream.until("peer.seen", lambda d: d["peer"]["id"] == hexid)
        assert seen["data"]["peer"]["grpc_address"] == newcomer.node.me.grpc_address
        assert isinstance(seen["time"], float)
        assert abs(seen["time"] - time.time()) < 60


async def test_a_graceful_leave_is_seen_by_the_leaver_and_its_predecessor(ring: FilesRing) -> None:
    leaver = ring.members[1]
    assert leaver.node.table.predecessor is not None
    pred = ring.member(leaver.node.table.predecessor.id)
    hexid = peer_id(ring, leaver)
    async with SseStream(leaver.app, EVENTS) as own, SseStream(pred.app, EVENTS) as other:
        await ring.cluster.leave(leaver.node)
        assert (await own.until("node.leaving"))["data"] == {}
        dead = await other.until("peer.dead", lambda d: d["peer"]["id"] == hexid)
        assert dead["data"]["reason"] == "left"
        successor = await other.until("ring.successor")
        assert successor["data"]["peer"]["id"] == peer_id(
            ring, ring.member(pred.node.table.successor.id)
        )


async def test_a_download_through_a_node_is_a_transfer_from_start_to_finish(
    ring: FilesRing,
) -> None:
    a, b = ring.members[:2]
    content = random.Random(5).randbytes(SIZE)
    a.shared.mkdir(parents=True, exist_ok=True)
    (a.shared / "song.ogg").write_bytes(content)
    await a.files.rescan()
    async with SseStream(b.app, EVENTS) as downloader, SseStream(a.app, EVENTS) as server:
        async with b.http() as http:
            body = await http.get("/api/v1/network/files/song.ogg/content")
        assert body.content == content
        started = await downloader.until("transfer.started")
        transfer = started["data"]["transfer"]
        assert (transfer["kind"], transfer["name"], transfer["state"]) == (
            "download",
            "song.ogg",
            "running",
        )
        assert transfer["bytes_total"] == SIZE
        finished = await downloader.until(
            "transfer.finished", lambda d: d["transfer"]["id"] == transfer["id"]
        )
        done = finished["data"]["transfer"]
        assert (done["state"], done["bytes_done"], done["error"]) == ("done", SIZE, None)
        assert done["finished"] >= done["started"]
        # the providers' side: streams served to b, adding up to the file
        served = 0
        while served < SIZE:
            event = await server.until("transfer.finished")
            stream = event["data"]["transfer"]
            assert (stream["kind"], stream["state"]) == ("serve", "done")
            served += stream["bytes_done"]
        assert served == SIZE
    async with b.http() as http:
        listed = TransferList.model_validate_json(
            (await http.get("/api/v1/transfers")).content
        ).transfers
        assert [(t.id, t.state) for t in listed] == [(transfer["id"], "done")]
        status = NodeStatus.model_validate_json((await http.get("/api/v1/status")).content)
    assert status.cached_bytes == SIZE
    assert status.pinned_bytes == 0
    assert status.bytes_held == SIZE
    assert status.estimated_nodes == 3
    assert status.transfers_running == 0
    assert status.range.end == peer_id(ring, b)
    assert status.warnings == []


async def test_progress_events_follow_the_clock(ring: FilesRing) -> None:
    member = ring.members[0]
    tracker = app_context(member.app).transfers
    assert tracker is not None
    async with SseStream(member.app, EVENTS) as stream:
        transfer = tracker.begin("serve", name="x", bytes_total=1000)
        transfer.bytes_done += 400
        await ring.cluster.clock.advance(0.25)
        progress = await stream.until("transfer.progress")
        assert progress["data"]["transfer"]["bytes_done"] == 400
        assert progress["data"]["transfer"]["rate_bps"] == pytest.approx(1600.0)
        await ring.cluster.clock.advance(1.0)  # no bytes moved: no progress event
        tracker.end(transfer)
        finished = await stream.until("transfer.finished")
        assert finished["data"]["transfer"]["state"] == "done"
    kinds = [e.kind for e in member.node.events.recent() if e.kind.startswith("transfer.")]
    assert kinds == ["transfer.started", "transfer.progress", "transfer.finished"]


async def test_replay_by_last_event_id_and_a_bad_one(ring: FilesRing) -> None:
    member = ring.members[0]
    hub = member.node.events
    for i in range(5):
        hub.publish("test.tick", {"i": i})
    last = hub.last_seq
    async with SseStream(member.app, EVENTS, headers={"Last-Event-ID": str(last - 2)}) as stream:
        got = [await stream.event() for _ in range(2)]
        assert [e["seq"] for e in got if e] == [last - 1, last]
    async with SseStream(member.app, EVENTS, query=f"since={last - 1}") as stream:
        got = [await stream.event()]
        assert [e["data"] for e in got if e] == [{"i": 4}]
    async with member.http() as http:
        bad = await http.get(EVENTS, headers={"Last-Event-ID": "yesterday"})
        assert bad.status_code == 400
        assert "Last-Event-ID" in bad.json()["detail"]
        negative = await http.get(EVENTS, params={"since": -1})
        assert negative.status_code == 422


async def test_a_stalled_subscriber_is_dropped_and_the_node_goes_on(
    ring: FilesRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_routes, "SEND_TIMEOUT", 0.2)
    member = ring.members[0]
    hub = member.node.events
    async with (
        SseStream(member.app, EVENTS, stall=True) as stalled,
        SseStream(member.app, EVENTS) as live,
    ):
        await asyncio.sleep(0)
        count = QUEUE_LIMIT * 2
        began = time.perf_counter()
        for i in range(count):
            hub.publish("test.tick", {"i": i})
            if i % 100 == 0:
                await asyncio.sleep(0)  # the live reader's turn, as the loop would give it
        publishing = time.perf_counter() - began
        received = []
        for _ in range(count):
            event = await live.event()
            assert event is not None
            received.append(event["data"]["i"])
        assert received == list(range(count))
        assert hub.drops == 1
        await asyncio.wait_for(stalled.ended.wait(), 5)  # the stalled stream was ended
        async with member.http() as http:
            answer = await http.get("/api/v1/status")
            assert answer.status_code == 200
            assert any("dropped" in w for w in answer.json()["warnings"])
    print(f"{count} events published in {publishing * 1000:.1f} ms with a stalled subscriber")


async def test_a_repair_copy_is_a_repair_event_and_a_tracked_transfer(tmp_path: Path) -> None:
    ring = await make_ring(tmp_path / "repair", 5)
    try:
        for member in ring.members:
            watch(ring, member)
        content = random.Random(9).randbytes(SIZE)
        async with ring.members[0].http() as http:
            answer = await http.put("/api/v1/network/files/kept.bin", content=content)
            assert answer.status_code == 201, answer.text
        owner, _, third = (ring.member(i) for i in ring.holders("kept.bin", 3))
        subscription = owner.node.events.subscribe()
        ring.crash(third)
        await ring.converge()
        report = await owner.files.bytes.run()
        assert report.copies == 1
        repairs = [e.data for e in owner.node.events.recent() if e.kind == "repair"]
        actions = [(d["action"], d["peer"]["id"]) for d in repairs]  # type: ignore[index]
        assert ("holder_gone", peer_id(ring, third)) in actions
        copied = [d for d in repairs if d["action"] == "copied"]
        assert len(copied) == 1
        assert copied[0]["name"] == "kept.bin"
        tracker = app_context(owner.app).transfers
        assert tracker is not None
        (copy,) = [t for t in tracker.snapshot() if t.kind == "repair"]
        assert (copy.state, copy.bytes_done, copy.bytes_total) == ("done", SIZE, SIZE)
        live = [e.kind for e in (subscription._items)]
        assert live.count("transfer.finished") >= 1  # the copy, also told to a live listener
    finally:
        for member in ring.members:
            tracker = app_context(member.app).transfers
            if tracker is not None:
                await tracker.close()
        await ring.close()


async def test_an_upload_through_a_node_is_a_transfer_of_that_node(tmp_path: Path) -> None:
    """The entry node of a REST upload shows it, whether or not it is one of the holders."""
    ring = await make_ring(tmp_path / "upload", 5)
    try:
        for member in ring.members:
            watch(ring, member)
        holders = [ring.member(i) for i in ring.holders("in.bin", 3)]
        entry = next(m for m in ring.members if all(m is not h for h in holders))
        content = random.Random(4).randbytes(SIZE)
        async with entry.http() as http:
            answer = await http.put("/api/v1/network/files/in.bin", content=content)
            assert answer.status_code == 201, answer.text
            shown = (await http.get("/api/v1/transfers")).json()["transfers"]
        uploads = [t for t in shown if t["kind"] == "upload" and t["name"] == "in.bin"]
        assert [(t["state"], t["bytes_done"], t["bytes_total"]) for t in uploads] == [
            ("done", SIZE, SIZE)
        ]
    finally:
        for member in ring.members:
            tracker = app_context(member.app).transfers
            if tracker is not None:
                await tracker.close()
        await ring.close()
