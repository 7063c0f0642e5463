"""Provider flags in the record store: tombstones override older entries, travel with range
reads and digests, are never offered to readers; pinned survives every path; a version-1 store
file is upgraded in place."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

from chordshare.model.manifest import Provider
from chordshare.storage.records.store import DB_FILE, RecordStore
from tests.records.conftest import SPACE, T0
from tests.records.factory import WallClock, provider, record

TTL = 1800.0


def tombstone(p: Provider, expires_at: float) -> Provider:
    return dataclasses.replace(p, expires_at=expires_at, withdrawn=True)


async def test_a_tombstone_hides_the_provider_from_readers(store: RecordStore) -> None:
    a, b = provider(1, T0 + TTL), provider(2, T0 + TTL)
    await store.put([record("f.txt", a, b)])
    await store.put([record("f.txt", tombstone(a, T0 + TTL + 10))])
    (found,) = await store.get("f.txt")
    assert [p.node_id for p in found.providers] == [2]
    assert await store.count() == 1


async def test_an_older_entry_arriving_later_does_not_resurrect(store: RecordStore) -> None:
    a = provider(1, T0 + TTL)
    await store.put([record("f.txt", tombstone(a, T0 + TTL + 10))])
    await store.put([record("f.txt", a)])  # a replica's copy from before the withdrawal
    assert await store.get("f.txt") == []
    assert await store.list_names() == []
    assert await store.count() == 0


async def test_a_later_announcement_overrides_the_tombstone(store: RecordStore) -> None:
    a = provider(1, T0 + TTL)
    await store.put([record("f.txt", tombstone(a, T0 + TTL + 10))])
    await store.put([record("f.txt", dataclasses.replace(a, expires_at=T0 + TTL + 20))])
    (found,) = await store.get("f.txt")
    assert [p.node_id for p in found.providers] == [1]


async def test_tombstones_travel_with_range_reads_and_change_the_digest(
    store: RecordStore,
) -> None:
    a = provider(1, T0 + TTL)
    await store.put([record("f.txt", a)])
    before = await store.digest(0, 0)
    await store.put([record("f.txt", tombstone(a, T0 + TTL + 10))])
    assert await store.digest(0, 0) != before
    (copied,) = await store.scan(0, 0)
    assert copied.providers == (tombstone(a, T0 + TTL + 10),)
    assert await store.next_key(0, 0) == SPACE.hash_key("f.txt")


async def test_tombstones_lapse_at_their_expiry(store: RecordStore, wall: WallClock) -> None:
    a = provider(1, T0 + TTL)
    await store.put([record("f.txt", tombstone(a, T0 + TTL + 10))])
    wall.now = T0 + TTL + 11
    assert await store.expire() == (1, 1)
    assert await store.scan(0, 0) == []


async def test_pinned_is_kept_and_digested(store: RecordStore) -> None:
    a = dataclasses.replace(provider(1, T0 + TTL), pinned=True)
    await store.put([record("f.txt", a)])
    (found,) = await store.get("f.txt")
    assert found.providers == (a,)
    pinned_digest = await store.digest(0, 0)
    await store.put(
        [record("f.txt", dataclasses.replace(a, pinned=False, expires_at=T0 + TTL + 1))]
    )
    assert await store.digest(0, 0) != pinned_digest


_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE records (name TEXT NOT NULL, content_hash BLOB NOT NULL, key_id BLOB NOT NULL,
    size INTEGER NOT NULL, piece_size INTEGER NOT NULL, piece_hashes BLOB NOT NULL,
    PRIMARY KEY (name, content_hash)) WITHOUT ROWID;
CREATE TABLE providers (name TEXT NOT NULL, content_hash BLOB NOT NULL, node_id BLOB NOT NULL,
    grpc_address TEXT NOT NULL, uri TEXT NOT NULL, expires_at REAL NOT NULL,
    PRIMARY KEY (name, content_hash, node_id),
    FOREIGN KEY (name, content_hash) REFERENCES records (name, content_hash) ON DELETE CASCADE
) WITHOUT ROWID;
INSERT INTO meta VALUES ('schema_version', '1'), ('ring_bits', '8');
"""


async def test_a_version_1_store_is_upgraded_and_keeps_its_records(
    tmp_path: Path, wall: WallClock
) -> None:
    rec = record("old.txt", provider(3, T0 + TTL))
    m = rec.manifest
    db = sqlite3.connect(tmp_path / DB_FILE)
    db.executescript(_V1)
    db.execute(
        "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)",
        (
            m.name,
            m.content_hash,
            SPACE.hash_key(m.name).to_bytes(20, "big"),
            m.size,
            m.piece_size,
            b"".join(m.piece_hashes),
        ),
    )
    p = rec.providers[0]
    db.execute(
        "INSERT INTO providers VALUES (?, ?, ?, ?, ?, ?)",
        (
            m.name,
            m.content_hash,
            p.node_id.to_bytes(20, "big"),
            p.grpc_address,
            p.uri,
            p.expires_at,
        ),
    )
    db.commit()
    db.close()
    store = await RecordStore.open(tmp_path, SPACE, wall_clock=wall)
    try:
        assert await store.get("old.txt") == [rec]
        await store.put([record("old.txt", tombstone(p, T0 + TTL + 5))])
        assert await store.get("old.txt") == []
    finally:
        await store.close()
    version = sqlite3.connect(tmp_path / DB_FILE).execute(
        "SELECT value FROM meta WHERE key = 'schema_version'"
    )
    assert version.fetchone() == ("3",)
