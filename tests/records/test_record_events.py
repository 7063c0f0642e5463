"""record.added / record.removed events on the nodes that keep a record (in-memory cluster)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chordshare.model.manifest import FileRecord
from chordshare.node.events import Event
from tests.records.factory import provider, record
from tests.records.harness import RecordCluster


@pytest.fixture
async def cluster() -> AsyncIterator[RecordCluster]:
    c = RecordCluster(None, seed=5)
    await c.grow(5)
    await c.ring.converge()
    yield c
    await c.close()


def record_events(c: RecordCluster, since: dict[int, int]) -> dict[int, list[Event]]:
    """Each node's record events after the sequence numbers in ``since``."""
    return {
        ident: [e for e in rec.node.events.recent(since[ident]) if e.kind.startswith("record.")]
        for ident, rec in c.records.items()
    }


async def test_holders_announce_a_new_entry_once_and_its_withdrawal(cluster: RecordCluster) -> None:
    mark = {i: rec.node.events.last_seq for i, rec in cluster.records.items()}
    entry = provider(1, cluster.wall.now + 600)
    r = record("holiday.jpg", entry, content="sun")
    await cluster.random().publish(r)
    holders = set(cluster.holders("holiday.jpg"))
    seen = record_events(cluster, mark)
    for ident, events in seen.items():
        if ident in holders:
            (added,) = events
            assert added.kind == "record.added"
            assert added.data["name"] == "holiday.jpg"
            assert added.data["content_hash"] == r.manifest.content_hash.hex()
            assert added.data["provider"]["grpc_address"] == entry.grpc_address  # type: ignore[index]
        else:
            assert events == [], ident  # word entries and other nodes' records say nothing

    mark = {i: rec.node.events.last_seq for i, rec in cluster.records.items()}
    refreshed = record("holiday.jpg", provider(1, cluster.wall.now + 900), content="sun")
    await cluster.random().publish(refreshed)
    assert all(events == [] for events in record_events(cluster, mark).values())

    mark = {i: rec.node.events.last_seq for i, rec in cluster.records.items()}
    cluster.vouch = lambda node, key: False  # the provider no longer holds it
    gone = FileRecord(r.manifest, (entry.tombstone(cluster.wall.now, 1000),))  # after +900
    await cluster.random().publish(gone)
    seen = record_events(cluster, mark)
    assert {i for i, events in seen.items() if events} == holders
    for ident in holders:
        assert [e.kind for e in seen[ident]] == ["record.removed"]
