"""The event hub: order, replay by sequence number, a stalled subscriber dropped while a live one
keeps receiving, and the ring events a joining and a crashing node produce."""

from __future__ import annotations

import asyncio

import pytest

from chordshare.clock import ManualClock
from chordshare.node.events import Event, EventHub, Subscription
from chordshare.sim.cluster import MemoryCluster


def take(sub: Subscription, n: int) -> list[Event]:
    """The first ``n`` queued events of ``sub`` (already queued: publish never waits)."""
    out = []
    for _ in range(n):
        out.append(sub._items.popleft())
    return out


async def test_events_arrive_in_order_with_sequence_and_time() -> None:
    clock = ManualClock(start=1_700_000_000.0)
    hub = EventHub(wall_clock=clock.now)
    sub = hub.subscribe()
    hub.publish("a", {"x": 1})
    await clock.advance(2.5)
    hub.publish("b")
    got = [await anext(sub), await anext(sub)]
    assert [(e.seq, e.kind, e.time) for e in got] == [
        (1, "a", 1_700_000_000.0),
        (2, "b", 1_700_000_002.5),
    ]
    assert got[0].as_json() == {"seq": 1, "time": 1_700_000_000.0, "kind": "a", "data": {"x": 1}}
    assert got[1].data == {}
    assert hub.last_seq == 2


async def test_replay_since_a_sequence_number_then_live_events_without_gap() -> None:
    hub = EventHub(recent=5)
    for i in range(8):
        hub.publish("tick", {"i": i})
    # only the last 5 are kept: seq 4..8
    assert [e.seq for e in hub.recent()] == [4, 5, 6, 7, 8]
    sub = hub.subscribe(since=6)
    hub.publish("tick", {"i": 8})
    assert [e.seq for e in take(sub, 3)] == [7, 8, 9]
    assert sub.pending == 0
    # asking from before what is kept replays all that is kept
    old = hub.subscribe(since=1)
    assert [e.seq for e in take(old, 5)] == [5, 6, 7, 8, 9]
    # no ``since``: live events only
    fresh = hub.subscribe()
    assert fresh.pending == 0


async def test_stalled_subscriber_is_dropped_and_a_live_one_keeps_receiving() -> None:
    hub = EventHub(queue_limit=10)
    stalled = hub.subscribe()
    live = hub.subscribe()
    received: list[int] = []

    async def listen() -> None:
        async for event in live:
            received.append(event.seq)

    listener = asyncio.create_task(listen())
    for i in range(50):
        hub.publish("tick", {"i": i})
        await asyncio.sleep(0)  # the live listener runs between events; the stalled one never
    assert stalled.dropped
    assert stalled.closed
    assert hub.drops == 1
    assert hub.subscribers == 1
    assert [e async for e in stalled] == []  # its iterator ends at once
    hub.close()
    await asyncio.wait_for(listener, 1)
    assert received == list(range(1, 51))
    assert not live.dropped


async def test_publish_never_waits_and_a_closed_subscription_ends() -> None:
    hub = EventHub(queue_limit=3)
    sub = hub.subscribe()
    for _ in range(1000):
        hub.publish("x")  # no await anywhere: publishing cannot block
    assert sub.dropped
    assert hub.drops == 1
    assert hub.published == 1000
    other = hub.subscribe()
    hub.publish("y")
    other.close()
    assert [e.kind async for e in other] == ["y"]  # what was queued is still read, then it ends
    assert hub.subscribers == 0
    hub.close()
    assert [e async for e in hub.subscribe()] == []


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="queue_limit"):
        EventHub(queue_limit=0)


async def test_a_join_and_a_crash_are_ring_events() -> None:
    cluster = MemoryCluster(bits=24, seed=3)
    for _ in range(4):
        await cluster.join()
    await cluster.converge()
    subs = {ident: node.events.subscribe() for ident, node in cluster.nodes.items()}
    newcomer = await cluster.join()
    await cluster.converge()
    assert newcomer.table.predecessor is not None
    before = cluster.nodes[newcomer.table.predecessor.id]  # its predecessor: now its successor
    sub = subs[before.me.id]
    peer = {
        "id": cluster.space.hex(newcomer.me.id),
        "grpc_address": newcomer.me.grpc_address,
        "http_url": newcomer.me.http_url,
    }
    joined = [(e.kind, dict(e.data)) for e in take(sub, sub.pending)]
    assert ("peer.seen", {"peer": peer}) in joined
    assert ("ring.successor", {"peer": peer}) in joined
    cluster.crash(newcomer)
    await cluster.converge()
    after = [(e.kind, dict(e.data)) for e in take(sub, sub.pending)]
    assert after.count(("peer.dead", {"peer": peer, "reason": "failed"})) == 1
    assert ("peer.seen", {"peer": peer}) not in after
    successor = {
        "id": cluster.space.hex(before.table.successor.id),
        "grpc_address": before.table.successor.grpc_address,
        "http_url": before.table.successor.http_url,
    }
    assert ("ring.successor", {"peer": successor}) in after
