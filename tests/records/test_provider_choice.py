"""A flood of invented provider entries neither evicts a record's providers (a full record
admits no newcomer) nor wins the choice among a name's variants (variants rank by providers that
confirm themselves at their address), on the in-memory network."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chordshare.model.manifest import Provider
from chordshare.model.records import MAX_PROVIDERS_PER_RECORD, RecordKey
from chordshare.node.records.admit import admitted
from chordshare.node.records.node import RecordNode
from tests.records.factory import provider, record
from tests.records.harness import RecordCluster


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[RecordCluster]:
    c = RecordCluster(tmp_path, seed=3)
    yield c
    await c.close()


@given(
    stored=st.sets(st.integers(0, 200), max_size=MAX_PROVIDERS_PER_RECORD),
    incoming=st.lists(st.integers(0, 200), min_size=1, max_size=64, unique=True),
)
def test_admission_keeps_stored_nodes_and_fills_only_free_room(
    stored: set[int], incoming: list[int]
) -> None:
    r = record("f.txt", *(provider(i, 1e9) for i in incoming))
    kept = admitted(r, stored)
    ids = [] if kept is None else [p.node_id for p in kept.providers]
    assert [i for i in incoming if i in stored] == [i for i in ids if i in stored]
    newcomers = [i for i in ids if i not in stored]
    assert newcomers == [i for i in incoming if i not in stored][: len(newcomers)]
    assert len(stored) + len(newcomers) <= max(MAX_PROVIDERS_PER_RECORD, len(stored))
    assert len(newcomers) == min(
        len([i for i in incoming if i not in stored]), MAX_PROVIDERS_PER_RECORD - len(stored)
    )


def holding(recs: list[RecordNode], key: RecordKey) -> None:
    """Make the nodes of ``recs`` answer that they provide ``key``."""
    for rec in recs:
        rec.holds = lambda k, key=key: k == key
        rec.checks.local = rec.holds


async def test_a_flood_does_not_evict_the_providers_of_a_record(cluster: RecordCluster) -> None:
    await cluster.grow(4)
    await cluster.ring.converge()
    ids = sorted(cluster.records)
    now = cluster.wall.now
    honest = record("report.pdf", *(provider(i, now + 1800) for i in ids[:2]), content="real")
    await cluster.random().publish(honest)
    dead = record(
        "report.pdf", *(provider(10_000 + i, now + 1e9) for i in range(64)), content="real"
    )
    await cluster.random().publish(dead)
    for rec in cluster.records.values():
        for r in await rec.store.get("report.pdf"):
            got = {p.node_id for p in r.providers}
            assert set(ids[:2]) <= got
            assert len(got) == MAX_PROVIDERS_PER_RECORD


async def test_a_forgery_with_many_entries_loses_to_confirmed_providers(
    cluster: RecordCluster,
) -> None:
    await cluster.grow(4)
    await cluster.ring.converge()
    ids = sorted(cluster.records)
    now = cluster.wall.now
    mine = (Provider(i, cluster.records[i].me.grpc_address, "", now + 1800) for i in ids[:2])
    real = record("memo.txt", *mine, content="real")
    holding([cluster.records[i] for i in ids[:2]], RecordKey.of(real))
    await cluster.random().publish(real)
    invented = (provider(20_000 + i, now + 1e9) for i in range(64))
    forged = record("memo.txt", *invented, content="forged")
    await cluster.random().publish(forged)
    for rec in cluster.records.values():
        found = await rec.find("memo.txt")
        assert [RecordKey.of(r) for r in found] == [RecordKey.of(real), RecordKey.of(forged)]


async def test_a_node_that_names_another_id_does_not_confirm(cluster: RecordCluster) -> None:
    await cluster.grow(3)
    await cluster.ring.converge()
    a, b, c = (cluster.records[i] for i in sorted(cluster.records))
    key = RecordKey("x.txt", b"\x01" * 32)
    holding([b], key)
    assert await a.checks.confirms(Provider(b.me.id, b.me.grpc_address, "", 0.0), key)
    # An entry naming c's id at b's address: b answers with its own id, so it does not confirm.
    assert not await a.checks.confirms(Provider(c.me.id, b.me.grpc_address, "", 0.0), key)
    assert not await a.checks.confirms(Provider(c.me.id, c.me.grpc_address, "", 0.0), key)
