"""A stored provider entry never outlives one provider TTL (plus the clock-skew allowance) on
the receiver's clock, whatever expiry the sender claimed: on a push (StoreRecords, replicated to
the successors) and on a pull (take-over of a range from a peer)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chordshare.model.limits import DEFAULT_PROVIDER_TTL, MAX_CLOCK_SKEW
from chordshare.model.records import clamp_expiry
from chordshare.model.words import words_of
from tests.records.factory import provider, record
from tests.records.harness import RecordCluster

TEN_YEARS = 10 * 365 * 86_400.0


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[RecordCluster]:
    c = RecordCluster(tmp_path, seed=5)
    yield c
    await c.close()


def test_clamp_cuts_only_entries_beyond_the_bound() -> None:
    honest, far = provider(1, 100.0), provider(2, 1e12)
    r = record("a.txt", honest, far)
    clamped = clamp_expiry(r, 500.0)
    assert [p.expires_at for p in clamped.providers] == [100.0, 500.0]
    assert clamp_expiry(record("a.txt", honest), 500.0) == record("a.txt", honest)


async def test_a_ten_year_entry_is_stored_for_one_ttl_on_every_holder(
    cluster: RecordCluster,
) -> None:
    await cluster.grow(5)
    await cluster.ring.converge()
    latest = cluster.wall.now + DEFAULT_PROVIDER_TTL + MAX_CLOCK_SKEW
    forged = record("memo.txt", provider(9, cluster.wall.now + TEN_YEARS), content="forged")
    await cluster.random().publish(forged)
    seen = 0
    for rec in cluster.records.values():
        for r in await rec.store.scan(0, 0):
            for p in r.providers:
                seen += 1
                assert p.expires_at <= latest
    # the name record and its word entries ("memo", "txt"), each on k holders
    assert seen == cluster.replicas * (1 + len(words_of("memo.txt")))
    cluster.wall.now = latest + 1
    assert await cluster.random().find("memo.txt") == []


async def test_a_pulled_entry_is_clamped_too(cluster: RecordCluster) -> None:
    await cluster.grow(2)
    source = next(iter(cluster.records.values()))
    far = record("memo.txt", provider(9, cluster.wall.now + TEN_YEARS), content="forged")
    await source.store.put([far])  # as if a peer had planted it before the bound existed
    joined = await cluster.add()
    await joined.sync.pull(source.me, joined.me.id, joined.me.id)
    latest = cluster.wall.now + DEFAULT_PROVIDER_TTL + MAX_CLOCK_SKEW
    (got,) = await joined.store.scan(0, 0)
    assert [p.expires_at for p in got.providers] == [latest]
