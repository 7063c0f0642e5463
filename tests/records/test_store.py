"""The SQLite record store: merge, expiry, range queries, pagination, persistence, errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from chordshare.errors import InvalidInput, InvalidName, StorageError
from chordshare.model.records import MAX_PROVIDERS_PER_RECORD, RecordKey
from chordshare.ring import IdSpace
from chordshare.storage.records.store import DB_FILE, RecordStore
from tests.records.conftest import SPACE, T0
from tests.records.factory import WallClock, provider, record


def name_with_key(key: int, prefix: str = "f") -> str:
    """A name whose ring id in SPACE is ``key`` (brute force over a tiny ring)."""
    for i in range(100_000):
        name = f"{prefix}{i}.bin"
        if SPACE.hash_key(name) == key:
            return name
    raise AssertionError(f"no name hashes to {key}")


async def test_put_get_round_trip(store: RecordStore) -> None:
    rec = record("a.txt", provider(1, T0 + 60), content="x")
    await store.put([rec])
    assert await store.get("a.txt") == [rec]
    assert await store.get("b.txt") == []
    assert await store.count() == 1


async def test_variants_under_one_name_most_providers_first(store: RecordStore) -> None:
    one = record("same", provider(1, T0 + 60), content="one")
    two = record("same", provider(2, T0 + 60), provider(3, T0 + 60), content="two")
    await store.put([one, two])
    got = await store.get("same")
    assert [r.manifest.content_hash for r in got] == [
        two.manifest.content_hash,
        one.manifest.content_hash,
    ]


async def test_put_merges_providers_latest_expiry_wins(store: RecordStore) -> None:
    await store.put([record("m", provider(1, T0 + 10), provider(2, T0 + 50))])
    await store.put([record("m", provider(1, T0 + 90), provider(2, T0 + 20), provider(3, T0 + 5))])
    (got,) = await store.get("m")
    assert {p.node_id: p.expires_at for p in got.providers} == {1: T0 + 90, 2: T0 + 50, 3: T0 + 5}
    expected = record("m", provider(1, T0 + 10), provider(2, T0 + 50)).merged(
        record("m", provider(1, T0 + 90), provider(2, T0 + 20), provider(3, T0 + 5))
    )
    assert got == expected


async def test_refresh_updates_address(store: RecordStore) -> None:
    await store.put([record("m", provider(1, T0 + 10, host="10.0.0.1"))])
    await store.put([record("m", provider(1, T0 + 20, host="10.0.0.2"))])
    (got,) = await store.get("m")
    assert got.providers[0].grpc_address.startswith("10.0.0.2")


async def test_expired_providers_are_hidden_then_deleted(
    store: RecordStore, wall: WallClock
) -> None:
    await store.put([record("e", provider(1, T0 + 10), provider(2, T0 + 100))])
    await store.put([record("gone", provider(3, T0 + 10))])
    wall.now = T0 + 10  # expires_at == now counts as expired
    (got,) = await store.get("e")
    assert [p.node_id for p in got.providers] == [2]
    assert await store.get("gone") == []
    assert await store.count() == 1
    assert await store.expire() == (2, 1)
    assert await store.expire() == (0, 0)
    wall.now = T0 + 100
    assert await store.get("e") == []
    assert await store.expire() == (1, 1)


async def test_put_ignores_already_expired_providers(store: RecordStore) -> None:
    await store.put([record("old", provider(1, T0 - 1))])
    assert await store.count() == 0
    assert await store.expire() == (0, 0)


async def test_provider_cap_keeps_latest_expiring(store: RecordStore) -> None:
    many = [provider(i, T0 + 1000 + i) for i in range(MAX_PROVIDERS_PER_RECORD)]
    await store.put([record("pop", *many)])
    await store.put([record("pop", provider(200, T0 + 5000), provider(201, T0 + 1))])
    (got,) = await store.get("pop")
    ids = {p.node_id for p in got.providers}
    assert len(ids) == MAX_PROVIDERS_PER_RECORD
    assert 200 in ids  # the latest-expiring entered; the two earliest-expiring went
    assert 0 not in ids
    assert 201 not in ids


async def test_bad_records_are_refused(store: RecordStore) -> None:
    with pytest.raises(InvalidName):
        await store.put([record("../etc/passwd", provider(1, T0 + 5))])
    too_many = [provider(i, T0 + 5) for i in range(MAX_PROVIDERS_PER_RECORD + 1)]
    with pytest.raises(InvalidInput):
        await store.put([record("x", *too_many)])
    with pytest.raises(InvalidInput, match="outside the ring"):
        await store.put([record("x", provider(SPACE.size, T0 + 5))])
    assert await store.count() == 0


async def test_discard_forgets_exactly_what_was_sent(store: RecordStore) -> None:
    sent = record("d", provider(1, T0 + 10), provider(2, T0 + 10))
    await store.put([sent])
    await store.put([record("d", provider(2, T0 + 99))])  # a refresh after the send
    await store.discard([sent])
    (got,) = await store.get("d")
    assert [(p.node_id, p.expires_at) for p in got.providers] == [(2, T0 + 99)]
    await store.discard(await store.get("d"))
    assert await store.count() == 0


async def test_range_queries_wrap_around_and_include_id_zero(store: RecordStore) -> None:
    keys = [0, 1, 100, 200, 255]
    names = {k: name_with_key(k) for k in keys}
    await store.put([record(names[k], provider(1, T0 + 60)) for k in keys])

    async def keys_in(start: int, end: int) -> list[int]:
        return [SPACE.hash_key(r.name) for r in await store.scan(start, end)]

    assert await keys_in(0, 100) == [1, 100]
    assert await keys_in(100, 0) == [200, 255, 0]  # wraps past 0, ring order from start
    assert await keys_in(255, 0) == [0]
    assert await keys_in(254, 255) == [255]
    assert await keys_in(200, 1) == [255, 0, 1]
    assert await keys_in(1, 1) == [100, 200, 255, 0, 1]  # (a, a] is the whole ring
    assert await keys_in(0, 0) == [1, 100, 200, 255, 0]
    assert await keys_in(2, 99) == []
    assert await store.next_key(100, 100) == 200
    assert await store.next_key(200, 50) == 255
    assert await store.next_key(255, 50) == 0
    assert await store.next_key(2, 99) is None


async def test_range_pages_resume_after_cursor(store: RecordStore) -> None:
    names = [name_with_key(k, p) for k, p in ((250, "a"), (5, "a"), (5, "b"), (9, "a"))]
    records = [record(n, provider(1, T0 + 60), content=c) for n in names for c in ("u", "v")]
    await store.put(records)
    everything = await store.scan(240, 10)
    assert len(everything) == len(records)
    seen = []
    after = None
    while True:
        page = await store.range_page(240, 10, after=after, limit=2)
        assert 1 <= len(page.records) <= 2
        seen.extend(page.records)
        after = page.next_after
        if after is None:
            break
    assert seen == everything
    with pytest.raises(InvalidInput):
        await store.range_page(20, 30, after=RecordKey.of(records[0]))


async def test_range_pages_respect_byte_budget(store: RecordStore) -> None:
    big = [record(f"big{i}", provider(1, T0 + 60), pieces=64) for i in range(5)]
    await store.put(big)
    page = await store.range_page(0, 0, limit=100, max_bytes=3000)
    assert len(page.records) == 1  # one record alone always fits
    assert page.more


async def test_list_names_paginates_by_name(store: RecordStore) -> None:
    await store.put([record(f"n{i:02}", provider(1, T0 + 60)) for i in range(7)])
    await store.put([record("n03", provider(2, T0 + 60), content="other")])
    assert await store.list_names("", 3) == ["n00", "n01", "n02"]
    assert await store.list_names("n02", 3) == ["n03", "n04", "n05"]
    assert await store.list_names("n05", 3) == ["n06"]
    assert await store.list_names("n06", 3) == []


async def test_digest_depends_on_content_not_order(store: RecordStore, tmp_path: Path) -> None:
    recs = [record(f"g{i}", provider(i, T0 + 60 + i)) for i in range(6)]
    await store.put(recs)
    other = await RecordStore.open(tmp_path / "other", SPACE, wall_clock=store.wall_clock)
    try:
        await other.put(reversed(recs))
        assert await store.digest(0, 0) == await other.digest(0, 0)
        await other.put([record("g1", provider(1, T0 + 500))])
        assert await store.digest(0, 0) != await other.digest(0, 0)
    finally:
        await other.close()


async def test_records_survive_reopen(tmp_path: Path, wall: WallClock) -> None:
    first = await RecordStore.open(tmp_path, SPACE, wall_clock=wall)
    recs = [record(f"keep{i}", provider(i, T0 + 60), content=str(i)) for i in range(20)]
    await first.put(recs)
    await first.close()
    again = await RecordStore.open(tmp_path, SPACE, wall_clock=wall)
    try:
        assert sorted(await again.scan(0, 0), key=lambda r: r.name) == sorted(
            recs, key=lambda r: r.name
        )
    finally:
        await again.close()


async def test_corrupt_file_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / DB_FILE).write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match="cannot be opened"):
        await RecordStore.open(tmp_path, SPACE)


async def test_other_ring_width_is_refused(tmp_path: Path) -> None:
    s = await RecordStore.open(tmp_path, SPACE)
    await s.close()
    with pytest.raises(StorageError, match="8-bit ring"):
        await RecordStore.open(tmp_path, IdSpace(16))


async def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / DB_FILE)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    db.execute("INSERT INTO meta VALUES ('schema_version', '99')")
    db.commit()
    db.close()
    with pytest.raises(StorageError, match="schema version"):
        await RecordStore.open(tmp_path, SPACE)


async def test_closed_store_refuses_calls(tmp_path: Path) -> None:
    s = await RecordStore.open(tmp_path, SPACE)
    await s.close()
    await s.close()  # idempotent
    with pytest.raises(StorageError, match="closed"):
        await s.get("x")


async def test_in_memory_store(wall: WallClock) -> None:
    s = await RecordStore.open(None, SPACE, wall_clock=wall)
    try:
        await s.put([record("mem", provider(1, T0 + 1))])
        assert len(await s.get("mem")) == 1
    finally:
        await s.close()
