"""Edge cases of the record operations on the in-memory network: tiny rings, refusals crossing
the twin transport, bounds, and what happens when no holder answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chordshare.errors import InvalidInput, PeerProtocolError, PeerUnavailable
from chordshare.model.records import encoded_size
from chordshare.node.records.node import RecordNode
from chordshare.transport.memory.records import MemoryRecordClient
from chordshare.transport.ports.records import (
    MAX_NAMES_PER_CALL,
    MAX_RECORDS_PER_CALL,
    MIN_MESSAGE_BYTES,
    batches,
)
from tests.records.factory import provider, record
from tests.records.harness import RecordCluster


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[RecordCluster]:
    c = RecordCluster(tmp_path, seed=3)
    yield c
    await c.close()


async def test_a_lone_node_holds_everything(cluster: RecordCluster) -> None:
    solo = await cluster.add()
    r = record("solo.txt", provider(1, cluster.wall.now + 60))
    assert (await solo.publish(r)).holder == solo.me
    assert await solo.find("solo.txt") == [r]
    report = await solo.repair()
    assert report.skipped.startswith("alone")
    assert await solo.hand_off() == 0


async def test_take_over_in_a_ring_smaller_than_k(cluster: RecordCluster) -> None:
    first = await cluster.add()
    records = [record(f"t{i}", provider(1, cluster.wall.now + 60)) for i in range(20)]
    for r in records:
        await first.publish(r)
    second = await cluster.add()
    assert await second.store.count() == len(records)  # k = 3 > 2 nodes: a full copy
    third = await cluster.add()
    assert await third.store.count() == len(records)
    await cluster.settle()
    assert await cluster.misplaced() == []


async def test_refusals_cross_the_twin_as_protocol_errors(cluster: RecordCluster) -> None:
    a = await cluster.add()
    b = await cluster.add()
    client = MemoryRecordClient(cluster.ring.network, a.me.grpc_address)
    with pytest.raises(PeerProtocolError, match="InvalidName"):
        await client.get_records(b.me, "../up")
    with pytest.raises(PeerProtocolError, match="limit"):
        await client.list_names(b.me, "", MAX_NAMES_PER_CALL + 1)
    with pytest.raises(PeerProtocolError, match="outside"):
        await client.fetch_range(b.me, cluster.ring.space.size, 0, None)
    too_many = [record(f"x{i}", provider(1, cluster.wall.now + 60)) for i in range(300)]
    with pytest.raises(PeerProtocolError, match="at most"):
        await client.store_records(b.me, too_many, False)
    with pytest.raises(InvalidInput):
        await b.store_records(too_many, False)


async def test_every_holder_down_then_the_next_live_node_takes_over(
    cluster: RecordCluster,
) -> None:
    """With all k holders crashed at once the record is lost (nothing to repair from), but the key
    is not: lookups confirm owners, so they reach the next live node, which answers "unknown"
    and accepts the record when its provider publishes again."""
    await cluster.grow(6)
    await cluster.ring.converge()
    r = record("doomed.txt", provider(1, cluster.wall.now + 60))
    await cluster.random().publish(r)
    for ident in cluster.holders(r.name):
        cluster.crash(cluster.records[ident])
    asker = cluster.random()
    assert await asker.find(r.name) == []
    await asker.publish(r)
    assert [found.name for found in await asker.find(r.name)] == [r.name]


async def test_hand_off_with_no_live_successor_raises(cluster: RecordCluster) -> None:
    await cluster.grow(3)
    await cluster.ring.converge()
    leaver = cluster.random()
    await leaver.publish(record("x.txt", provider(1, cluster.wall.now + 60)))
    for other in [r for r in cluster.records.values() if r is not leaver]:
        cluster.crash(other)
    with pytest.raises(PeerUnavailable):
        await leaver.hand_off()


async def test_repair_waits_while_the_range_is_unknown(cluster: RecordCluster) -> None:
    await cluster.grow(4)
    await cluster.ring.converge()
    rec = cluster.random()
    pred = rec.node.table.predecessor
    assert pred is not None
    cluster.crash(cluster.records[pred.id])
    await rec.node.check_predecessor()
    assert rec.repair_wanted.is_set()  # the listener saw the range change
    report = await rec.repair()
    assert report.skipped.startswith("predecessor unknown")
    assert not rec.repair_wanted.is_set()


def test_batches_respect_both_bounds() -> None:
    recs = [record(f"b{i}", provider(1, 10.0), pieces=1) for i in range(600)]
    sizes = [len(b) for b in batches(recs)]
    assert sizes == [MAX_RECORDS_PER_CALL, MAX_RECORDS_PER_CALL, 600 - 2 * MAX_RECORDS_PER_CALL]
    big = [record(f"g{i}", provider(1, 10.0), pieces=20_000) for i in range(5)]
    assert [len(b) for b in batches(big)] == [4, 1]  # ~680 KB each, 3 MiB per message
    assert [len(b) for b in batches([])] == []


def test_replicas_must_fit_the_successor_list(cluster: RecordCluster) -> None:
    node = cluster.ring.spawn()
    with pytest.raises(ValueError, match="successor list"):
        RecordNode(node, None, None, replicas=50)  # type: ignore[arg-type]


async def test_a_small_message_budget_bounds_pages_and_publishes(tmp_path: Path) -> None:
    c = RecordCluster(tmp_path, seed=9, message_bytes=MIN_MESSAGE_BYTES)
    try:
        await c.grow(4)
        await c.ring.converge()
        with pytest.raises(InvalidInput, match="does not fit"):
            await c.random().publish(record("huge.iso", provider(1, c.wall.now + 60), pieces=3000))
        records = [
            record(f"mid{i}.iso", provider(1, c.wall.now + 60), pieces=600) for i in range(12)
        ]
        for r in records:
            await c.random().publish(r)
        owner = c.records[c.holders(records[0].name)[0]]
        page = await owner.fetch_range(0, 0, None)
        assert page.more  # ~20 KB each: a 64 KiB budget takes three
        assert sum(encoded_size(r) for r in page.records) <= MIN_MESSAGE_BYTES
        await c.add()
        await c.leave(c.random())
        await c.settle()
        assert await c.misplaced() == []
    finally:
        await c.close()
