"""A flood of invented provider entries neither evicts a record's providers (a full record
admits no newcomer) nor wins the choice among a name's variants (variants rank by providers that
confirm themselves at their address), on the in-memory network."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chordshare.model.manifest import Provider
from chordshare.model.records import RecordKey
from chordshare.node.records.node import RecordNode
from tests.records.factory import provider, record
from tests.records.harness import RecordCluster


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[RecordCluster]:
    c = RecordCluster(tmp_path, seed=3)
    yield c
    await c.close()


def holding(recs: list[RecordNode], key: RecordKey) -> None:
    """Make the nodes of ``recs`` answer that they provide ``key``."""
    for rec in recs:
        rec.holds = lambda k, key=key: k == key
        rec.checks.local = rec.holds


async def test_a_flood_does_not_evict_the_providers_of_a_record(cluster: RecordCluster) -> None:
    await cluster.grow(4)
    await cluster.ring.converge()
    cluster.vouch = None  # the invented providers do not exist
    ids = sorted(cluster.records)
    now = cluster.wall.now
    mine = (Provider(i, cluster.records[i].me.grpc_address, "", now + 1800) for i in ids[:2])
    honest = record("report.pdf", *mine, content="real")
    holding([cluster.records[i] for i in ids[:2]], RecordKey.of(honest))
    await cluster.random().publish(honest)
    dead = record(
        "report.pdf", *(provider(10_000 + i, now + 1e9) for i in range(64)), content="real"
    )
    await cluster.random().publish(dead)
    for rec in cluster.records.values():
        for r in await rec.store.get("report.pdf"):
            # Nobody answers for the 64 invented entries, so no holder stores them.
            assert {p.node_id for p in r.providers} == set(ids[:2])


async def test_a_forgery_with_many_entries_loses_to_confirmed_providers(
    cluster: RecordCluster,
) -> None:
    await cluster.grow(4)
    await cluster.ring.converge()
    ids = sorted(cluster.records)
    now = cluster.wall.now
    mine = (Provider(i, cluster.records[i].me.grpc_address, "", now + 1800) for i in ids[:2])
    real = record("memo.txt", *mine, content="real")
    # The forger runs one live node (20_000), which vouches for its own entry: of the 64 only
    # that one is stored, and the variant two live nodes confirm ranks first.
    cluster.vouch = lambda node, key: node == 20_000
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


async def test_find_lists_the_providers_that_answered_first(cluster: RecordCluster) -> None:
    await cluster.grow(3)
    await cluster.ring.converge()
    a, b, c = (cluster.records[i] for i in sorted(cluster.records))
    now = cluster.wall.now
    cluster.vouch = lambda node, key: node == 30_000  # alive while the record is stored
    r = record(
        "order.txt",
        provider(30_000, now + 1800),
        Provider(b.me.id, b.me.grpc_address, "", now + 1800),
        content="o",
    )
    key = RecordKey.of(r)
    holding([b], key)
    await a.publish(r)
    cluster.vouch = None  # 30_000 died; a download asks every provider of the two variants
    other = record("order.txt", Provider(c.me.id, c.me.grpc_address, "", now + 1800), content="p")
    holding([c], RecordKey.of(other))
    await c.publish(other)
    await cluster.ring.clock.advance(61.0)  # the answers given at publish time lapse
    found = await a.find("order.txt")
    assert [p.node_id for p in found[0].providers] == [b.me.id, 30_000]
