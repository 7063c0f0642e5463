"""Records in the DHT on the in-memory network: publish, find, join, leave, crash, churn.

Every test is deterministic under its seed: ring maintenance and record repair run in explicit
rounds, and a fake wall clock drives provider expiry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chordshare.errors import InvalidName
from chordshare.model.manifest import FileRecord
from tests.records.factory import provider, record
from tests.records.harness import RecordCluster


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[RecordCluster]:
    c = RecordCluster(tmp_path, seed=11)
    yield c
    await c.close()


def files(c: RecordCluster, n: int, prefix: str = "doc") -> list[FileRecord]:
    """n records, each provided by a random node, live for an hour of wall time."""
    out = []
    for i in range(n):
        owner = c.rng.choice(sorted(c.records))
        out.append(record(f"{prefix}-{i}.txt", provider(owner, c.wall.now + 3600), content=str(i)))
    return out


async def publish_all(c: RecordCluster, records: list[FileRecord]) -> None:
    for r in records:
        await c.random().publish(r)


async def assert_findable_everywhere(c: RecordCluster, records: list[FileRecord]) -> None:
    for rec in c.records.values():
        for r in records:
            found = await rec.find(r.name)
            assert [f.manifest for f in found] == [r.manifest], (rec, r.name)
            assert {p.node_id for p in found[0].providers} >= {p.node_id for p in r.providers}


async def test_publish_from_random_nodes_find_from_every_node(cluster: RecordCluster) -> None:
    await cluster.grow(12)
    await cluster.ring.converge()
    records = files(cluster, 40)
    await publish_all(cluster, records)
    assert await cluster.misplaced() == []  # owner + k-1 successors, nowhere else
    await assert_findable_everywhere(cluster, records)
    assert await cluster.random().find("never-published.txt") == []


async def test_two_files_under_one_name_are_both_found(cluster: RecordCluster) -> None:
    await cluster.grow(5)
    await cluster.ring.converge()
    a = record("same.txt", provider(1, cluster.wall.now + 60), content="a")
    b = record("same.txt", provider(2, cluster.wall.now + 60), provider(3, cluster.wall.now + 60))
    await cluster.random().publish(a)
    await cluster.random().publish(b)
    found = await cluster.random().find("same.txt")
    assert [f.manifest for f in found] == [b.manifest, a.manifest]  # most providers first


async def test_republish_merges_providers(cluster: RecordCluster) -> None:
    await cluster.grow(6)
    await cluster.ring.converge()
    now = cluster.wall.now
    await cluster.random().publish(record("m.txt", provider(1, now + 60)))
    await cluster.random().publish(record("m.txt", provider(2, now + 60)))
    (found,) = await cluster.random().find("m.txt")
    assert [p.node_id for p in found.providers] == [1, 2]


async def test_bad_names_are_refused(cluster: RecordCluster) -> None:
    await cluster.grow(2)
    with pytest.raises(InvalidName):
        await cluster.random().find("../x")
    with pytest.raises(InvalidName):
        await cluster.random().publish(record("a/b", provider(1, cluster.wall.now + 60)))


async def test_joins_move_records_to_the_new_owner(cluster: RecordCluster) -> None:
    await cluster.grow(6)
    await cluster.ring.converge()
    records = files(cluster, 60)
    await publish_all(cluster, records)
    for _ in range(8):
        await cluster.add()
        await cluster.ring.round()
        # Findable at every step, before any repair: the newcomer pulled its range on joining.
        await assert_findable_everywhere(cluster, records[::7])
    await cluster.ring.converge()
    await assert_findable_everywhere(cluster, records)
    oracle = cluster.ring.oracle()
    for r in records:  # every owner holds its keys without repair
        owner = oracle.successor(cluster.ring.space.hash_key(r.name))
        assert await cluster.records[owner].store.get(r.name), r.name
    await cluster.settle()  # repair then drops what the old holders no longer need
    assert await cluster.misplaced() == []


async def test_graceful_leaves_lose_nothing(cluster: RecordCluster) -> None:
    await cluster.grow(12)
    await cluster.ring.converge()
    records = files(cluster, 50)
    await publish_all(cluster, records)
    for _ in range(6):
        await cluster.leave(cluster.random())
        await cluster.ring.round()
        await assert_findable_everywhere(cluster, records[::5])
    await cluster.settle()
    assert await cluster.misplaced() == []
    await assert_findable_everywhere(cluster, records)


async def test_hand_off_skips_a_dead_successor(cluster: RecordCluster) -> None:
    await cluster.grow(6)
    await cluster.ring.converge()
    records = files(cluster, 30)
    await publish_all(cluster, records)
    leaver = cluster.random()
    succ = cluster.records[leaver.node.table.successor.id]
    cluster.crash(succ)
    held = len(await leaver.store.scan(0, 0))  # name records and word entries alike
    assert await cluster.leave(leaver) == held
    await cluster.settle()
    await assert_findable_everywhere(cluster, records)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_crash_of_k_minus_1_holders_then_repair(tmp_path: Path, seed: int) -> None:
    c = RecordCluster(tmp_path, seed=seed, replicas=3)
    try:
        await c.grow(10)
        await c.ring.converge()
        records = files(c, 60)
        await publish_all(c, records)
        victim = records[seed]
        holders = c.holders(victim.name)
        for ident in holders[:2]:  # owner and first replica, at once
            c.crash(c.records[ident])
        assert await c.copies(victim) == 1
        rounds = await c.settle()
        assert rounds <= 5
        for r in records:
            assert await c.copies(r) == 3, r.name
        await assert_findable_everywhere(c, records)
    finally:
        await c.close()


async def test_find_falls_back_to_replicas_while_the_owner_is_down(cluster: RecordCluster) -> None:
    await cluster.grow(8)
    await cluster.ring.converge()
    records = files(cluster, 20)
    await publish_all(cluster, records)
    victim = records[0]
    cluster.crash(cluster.records[cluster.holders(victim.name)[0]])
    # No maintenance yet: lookups still end at the dead owner and must fail over.
    for rec in cluster.records.values():
        assert [f.manifest for f in await rec.find(victim.name)] == [victim.manifest]


async def test_expired_providers_drop_out_and_republish_restores(cluster: RecordCluster) -> None:
    await cluster.grow(5)
    await cluster.ring.converge()
    now = cluster.wall.now
    await cluster.random().publish(record("x.txt", provider(1, now + 10), provider(2, now + 100)))
    cluster.wall.now = now + 50
    (found,) = await cluster.random().find("x.txt")
    assert [p.node_id for p in found.providers] == [2]
    cluster.wall.now = now + 100
    assert await cluster.random().find("x.txt") == []
    await cluster.repair_round()
    assert sum([await r.store.count() for r in cluster.records.values()]) == 0
    await cluster.random().publish(record("x.txt", provider(2, now + 200)))
    assert len(await cluster.random().find("x.txt")) == 1


async def test_restarted_node_keeps_its_records(tmp_path: Path) -> None:
    c = RecordCluster(tmp_path, seed=5)
    try:
        await c.grow(6)
        await c.ring.converge()
        records = files(c, 30)
        await publish_all(c, records)
        node = c.random()
        ident, before = node.me.id, await node.store.count()
        assert before > 0
        c.crash(node)
        await c.ring.converge()
        again = await c.add(ident, take_over=False)  # same id, same data directory
        assert await again.store.count() == before
        await c.settle()
        await assert_findable_everywhere(c, records)
    finally:
        await c.close()


async def test_network_names_walks_the_ring(cluster: RecordCluster) -> None:
    await cluster.grow(7)
    await cluster.ring.converge()
    records = files(cluster, 25)
    await publish_all(cluster, records)
    names = sorted(r.name for r in records)
    rec = cluster.random()
    assert await rec.network_names(limit=1000) == names
    assert await rec.network_names(after=names[9], limit=5) == names[10:15]


@pytest.mark.parametrize("seed", [21, 22, 23])
async def test_churn_then_every_record_is_findable(tmp_path: Path, seed: int) -> None:
    c = RecordCluster(tmp_path, seed=seed)
    try:
        await c.grow(8)
        await c.ring.converge()
        records = files(c, 30, prefix="early")
        await publish_all(c, records)
        crashes = 0
        for step in range(40):
            op = c.rng.random()
            if op < 0.35 or len(c.records) < 5:
                await c.add()
            elif op < 0.6:
                await c.leave(c.random())
            elif op < 0.8:
                c.crash(c.random())
                crashes += 1
            else:
                late = record(f"late-{step}.txt", provider(step, c.wall.now + 3600))
                await c.random().publish(late)
                records.append(late)
            await c.ring.round()
            await c.repair_round()
            if crashes == c.replicas - 1:
                # At most k-1 crashes between full repairs: the failure model k copies survive.
                await c.settle()
                crashes = 0
        await c.settle()
        assert await c.misplaced() == []
        await assert_findable_everywhere(c, records)
    finally:
        await c.close()
