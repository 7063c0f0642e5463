"""Holders admit a new or changed provider entry only when the provider confirms it itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chordshare.model.manifest import FileRecord, Provider
from chordshare.model.records import MAX_PROVIDERS_PER_RECORD, RecordKey
from chordshare.node.records import admit
from chordshare.node.records.node import RecordNode
from tests.records.factory import provider, record
from tests.records.harness import RecordCluster


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[RecordCluster]:
    c = RecordCluster(tmp_path, seed=5)
    await c.grow(4)
    await c.ring.converge()
    c.vouch = None  # invented providers are dead unless a test says otherwise
    yield c
    await c.close()


def entry(rec: RecordNode, expires: float, *, withdrawn: bool = False) -> Provider:
    return Provider(rec.me.id, rec.me.grpc_address, "", expires, withdrawn=withdrawn)


def serve(rec: RecordNode, keys: set[RecordKey]) -> None:
    rec.holds = lambda k: k in keys
    rec.checks.local = rec.holds


async def stored(cluster: RecordCluster, key: RecordKey) -> list[dict[int, Provider]]:
    """Per node, the entries it stores for ``key`` (tombstones included), by provider id."""
    out = []
    for rec in cluster.records.values():
        found = [r for r in await rec.store.scan(0, 0) if RecordKey.of(r) == key]
        out.append({p.node_id: p for r in found for p in r.providers})
    return out


async def test_forged_entries_for_a_live_node_that_does_not_hold_the_file_are_dropped(
    cluster: RecordCluster,
) -> None:
    a, b, *_ = cluster.records.values()
    forged = record("f.bin", entry(b, cluster.wall.now + 600), content="x")
    serve(b, set())
    await a.publish(forged)
    assert all(not entries for entries in await stored(cluster, RecordKey.of(forged)))
    serve(b, {RecordKey.of(forged)})
    await cluster.ring.clock.advance(6.0)  # past RECHECK_AFTER: a remembered "no" is asked again
    await a.publish(forged)
    assert sum(b.me.id in e for e in await stored(cluster, RecordKey.of(forged))) == 3


async def test_a_forged_tombstone_is_dropped_and_a_real_one_taken(cluster: RecordCluster) -> None:
    a, b, *_ = cluster.records.values()
    now = cluster.wall.now
    r = record("t.bin", entry(b, now + 600), content="t")
    key = RecordKey.of(r)
    serve(b, {key})
    await b.publish(r)
    tomb = FileRecord(r.manifest, (entry(b, now + 700, withdrawn=True),))
    await a.publish(tomb)
    holders = await stored(cluster, key)
    assert len(holders) == 4
    assert all(not e[b.me.id].withdrawn for e in holders if e)
    assert sum(1 for e in holders if e) == 3
    serve(b, set())  # b really removed the file, and withdraws it itself
    await cluster.ring.clock.advance(6.0)
    await b.publish(tomb)
    assert all(e[b.me.id].withdrawn for e in await stored(cluster, key) if e)
    assert await a.find("t.bin") == []


async def test_a_dead_holders_tombstone_is_taken(cluster: RecordCluster) -> None:
    a, *_ = cluster.records.values()
    now = cluster.wall.now
    cluster.vouch = lambda node, key: True
    r = record("d.bin", provider(9, now + 600), content="d")
    await a.publish(r)
    assert sum(1 for e in await stored(cluster, RecordKey.of(r)) if e) == 3
    cluster.vouch = None  # node 9 died: the byte repair withdraws its entry
    await cluster.ring.clock.advance(61.0)
    dead = FileRecord(r.manifest, (provider(9, now + 700).tombstone(now, 600),))
    await a.publish(dead)
    assert all(e[9].withdrawn for e in await stored(cluster, RecordKey.of(r)) if e)


async def test_a_full_record_of_dead_entries_gives_a_slot_to_a_confirmed_newcomer(
    cluster: RecordCluster,
) -> None:
    a, b, *_ = cluster.records.values()
    now = cluster.wall.now
    cluster.vouch = lambda node, key: True
    full = record("full.bin", *(provider(10_000 + i, now + 600) for i in range(64)), content="full")
    key = RecordKey.of(full)
    await a.publish(full)
    assert all(len(e) == MAX_PROVIDERS_PER_RECORD for e in await stored(cluster, key) if e)
    serve(b, {key})
    newcomer = FileRecord(full.manifest, (entry(b, now + 600),))
    calls = sum(rec.checks.calls for rec in cluster.records.values())
    await b.publish(newcomer)  # all 64 still answer: the newcomer waits
    assert all(b.me.id not in e for e in await stored(cluster, key))
    cluster.vouch = None  # the 64 died
    await cluster.ring.clock.advance(61.0)
    await b.publish(newcomer)
    holders = [e for e in await stored(cluster, key) if e]
    assert len(holders) == 3
    for e in holders:
        assert b.me.id in e
        assert len(e) == MAX_PROVIDERS_PER_RECORD
    made = sum(rec.checks.calls for rec in cluster.records.values()) - calls
    # Per holder: one call to b at most and a few re-checks of listed entries.
    assert made <= 3 * (1 + 4 + 4)


async def test_one_batch_may_carry_several_states_of_one_entry(cluster: RecordCluster) -> None:
    a, b, *_ = cluster.records.values()
    now = cluster.wall.now
    r = record("s.bin", entry(b, now + 100), content="s")
    serve(b, {RecordKey.of(r)})
    await a.store_records([r], replicate=False)
    serve(b, set())
    await cluster.ring.clock.advance(61.0)
    withdrawn = FileRecord(r.manifest, (entry(b, now + 200, withdrawn=True),))
    again = FileRecord(r.manifest, (entry(b, now + 250),))
    await a.store_records([withdrawn, again, withdrawn], replicate=False)
    # The tombstone was confirmed (b no longer holds it); the later offered entry only
    # refreshes what was stored, so the merge keeps the latest of the two.
    (got,) = await stored_on(a, RecordKey.of(r))
    assert (got.expires_at, got.withdrawn) == (now + 250, False)


async def stored_on(rec: RecordNode, key: RecordKey) -> list[Provider]:
    return [p for r in await rec.store.scan(0, 0) if RecordKey.of(r) == key for p in r.providers]


async def test_one_node_is_listed_in_at_most_the_cap_of_records_per_holder(
    cluster: RecordCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A live node vouching for itself cannot fill a holder's store: past the cap, its new
    entries are dropped (here a cap of 3, over 8 records of 3 replicas on 4 nodes: some holder
    is offered at least 6)."""
    monkeypatch.setattr(admit, "MAX_RECORDS_PER_PROVIDER", 3)
    a, *_ = cluster.records.values()
    now = cluster.wall.now
    cluster.vouch = lambda node, key: True
    for i in range(8):
        await a.publish(record(f"many{i}.bin", provider(9, now + 600), content=f"m{i}"))
    listed = []
    for rec in cluster.records.values():
        found = await rec.store.scan(0, 0)
        # name records only: word entries have a cap of their own
        listed.append(sum(1 for r in found if not r.word for p in r.providers if p.node_id == 9))
    assert max(listed) == 3
    # another node's entries are not affected by node 9's cap
    await a.publish(record("other.bin", provider(10, now + 600), content="o"))
    holders = [len(await rec.store.get("other.bin")) for rec in cluster.records.values()]
    assert sum(holders) == 3
