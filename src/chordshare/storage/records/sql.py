"""The SQLite core of the record store: synchronous, one connection, used from one thread.

:class:`chordshare.storage.records.store.RecordStore` is the async face; it runs every method here
on its single database thread, which makes this connection the node's one writer. Nothing here is
thread-safe on its own.

Layout (schema version :data:`SCHEMA_VERSION`):

* ``records``: one row per (name, content hash) with the manifest and ``key_id``, the ring id of
  the name, stored as a fixed-width big-endian blob so that SQLite's byte order is ring order and
  an arc ``(start, end]`` is one or two index range scans (two when it wraps past 0);
* ``providers``: one row per (name, content hash, provider node), with its expiry and flags
  (pinned, withdrawn); schema and upgrades in :mod:`chordshare.storage.records.schema`;
* ``meta``: schema version and ring width, checked on open (key ids of another ring width
  would answer range queries wrongly).

Every query takes ``now`` (wall-clock seconds): a provider is live while ``expires_at > now``,
and a record is visible only while it has a live provider. Tombstones (withdrawn entries) are
copied by range reads and digests like any entry, and left out of what readers get.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from chordshare.errors import InvalidInput
from chordshare.model.manifest import DIGEST_SIZE, FileManifest, FileRecord, Provider
from chordshare.model.records import (
    MAX_PROVIDERS_PER_RECORD,
    RecordKey,
    RecordPage,
    check_record,
    encoded_size,
)
from chordshare.ring import IdSpace, in_half_open
from chordshare.storage.records.keys import arc_clauses, arc_segments, blob_id, id_blob
from chordshare.storage.records.schema import (
    META_SCHEMA,
    SCHEMA_STATEMENTS,
    SCHEMA_VERSION,
    upgrade,
)

"""Every id is stored as 20 big-endian bytes whatever the ring width, so blob order is id order."""

LIVE = (
    "EXISTS (SELECT 1 FROM providers p WHERE p.word = r.word AND p.name = r.name"
    " AND p.content_hash = r.content_hash AND p.expires_at > :now)"
)
"""A record is held while any entry of it is unexpired, tombstones included: replicas must
copy a tombstone, or a replica's older entry would bring the withdrawn provider back."""

OFFERED = LIVE[:-1] + " AND p.withdrawn = 0)"
"""A record is offered to readers while it has an unexpired entry that is not a tombstone."""

COLUMNS = "r.word, r.name, r.content_hash, r.size, r.piece_size, r.piece_hashes"
"""What :meth:`SqliteRecords._build` reads of a record row."""

_ORPHANS = (
    "DELETE FROM records WHERE NOT EXISTS (SELECT 1 FROM providers p WHERE p.word = records.word"
    " AND p.name = records.name AND p.content_hash = records.content_hash)"
)


class SqliteRecords:
    """Records and providers in one SQLite file (or ``:memory:`` when ``path`` is None)."""

    def __init__(self, path: Path | None, space: IdSpace) -> None:
        self.space = space
        self.path = path
        target = ":memory:" if path is None else str(path)
        self.db = sqlite3.connect(target, isolation_level=None)
        try:
            self.db.execute("PRAGMA foreign_keys = ON")
            if path is not None:
                self.db.execute("PRAGMA journal_mode = WAL")
                # WAL + FULL fsyncs the journal at every commit, so a record this node has
                # acknowledged survives a power loss, not only a crash of the process (NORMAL).
                self.db.execute("PRAGMA synchronous = FULL")
            self.db.execute(META_SCHEMA)
            self._check_meta()
            self.db.execute("PRAGMA quick_check").fetchall()
        except BaseException:
            self.db.close()
            raise

    def close(self) -> None:
        self.db.close()

    # -- plumbing -------------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[None]:
        """Run a block in one transaction. BEGIN IMMEDIATE takes the write lock at once, so a
        second process on the same file fails fast ("database is locked") instead of deadlocking
        half-way through."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _check_meta(self) -> None:
        rows = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        if not rows:
            with self._tx():
                for statement in SCHEMA_STATEMENTS:
                    self.db.execute(statement)
                self.db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("schema_version", str(SCHEMA_VERSION)), ("ring_bits", str(self.space.bits))],
                )
            return
        version = rows.get("schema_version", "")
        if not version.isdigit():
            raise sqlite3.DatabaseError(f"schema version {version!r}, expected {SCHEMA_VERSION}")
        if int(version) != SCHEMA_VERSION:
            with self._tx():
                upgrade(self.db, int(version))
        if rows.get("ring_bits") != str(self.space.bits):
            raise sqlite3.DatabaseError(
                f"written for a {rows.get('ring_bits')}-bit ring, this node runs a "
                f"{self.space.bits}-bit ring (its key ids would be wrong)"
            )

    def key_of(self, name: str) -> int:
        return self.space.hash_key(name)

    # -- writes ---------------------------------------------------------------------------

    def put(self, records: Iterable[FileRecord], now: float) -> int:
        """Merge ``records`` in (as :meth:`FileRecord.merged`: per provider node the latest
        expiry wins). Providers already expired are ignored, a record without a live provider
        is not stored, and a record keeps at most ``MAX_PROVIDERS_PER_RECORD`` providers (the
        latest-expiring). Returns how many provider rows were inserted or refreshed."""
        changed = 0
        with self._tx():
            for record in records:
                check_record(record)
                for p in record.providers:
                    if p.node_id >= self.space.size:
                        raise InvalidInput(f"provider id {p.node_id:#x} is outside the ring")
                live = [p for p in record.providers if p.expires_at > now]
                if not live:
                    continue
                m = record.manifest
                ch = m.content_hash
                w = record.word
                self.db.execute(
                    "INSERT OR IGNORE INTO records"
                    " (word, name, content_hash, key_id, size, piece_size, piece_hashes)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        w,
                        m.name,
                        ch,
                        id_blob(self.key_of(record.key_text)),
                        m.size,
                        m.piece_size,
                        b"".join(m.piece_hashes),
                    ),
                )
                for p in live:
                    cur = self.db.execute(
                        "INSERT INTO providers (word, name, content_hash, node_id, grpc_address,"
                        " uri, expires_at, pinned, withdrawn) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                        " ON CONFLICT (word, name, content_hash, node_id) DO UPDATE SET"
                        " grpc_address = excluded.grpc_address, uri = excluded.uri,"
                        " expires_at = excluded.expires_at, pinned = excluded.pinned,"
                        " withdrawn = excluded.withdrawn"
                        " WHERE excluded.expires_at > providers.expires_at",
                        (
                            w,
                            m.name,
                            ch,
                            id_blob(p.node_id),
                            p.grpc_address,
                            p.uri,
                            p.expires_at,
                            p.pinned,
                            p.withdrawn,
                        ),
                    )
                    changed += cur.rowcount
                self.db.execute(
                    "DELETE FROM providers WHERE word = :w AND name = :n AND content_hash = :h"
                    " AND node_id NOT IN (SELECT node_id FROM providers WHERE word = :w"
                    " AND name = :n AND content_hash = :h ORDER BY expires_at DESC, node_id"
                    " LIMIT :cap)",
                    {"w": w, "n": m.name, "h": ch, "cap": MAX_PROVIDERS_PER_RECORD},
                )
        return changed

    def discard(self, records: Iterable[FileRecord]) -> int:
        """Forget exactly what ``records`` say (a provider row goes only if its expiry is not
        later than the one given, so a refresh that arrived meanwhile survives); records left
        without providers go too. Returns the provider rows removed."""
        removed = 0
        with self._tx():
            for record in records:
                ch = record.manifest.content_hash
                for p in record.providers:
                    cur = self.db.execute(
                        "DELETE FROM providers WHERE word = ? AND name = ? AND content_hash = ?"
                        " AND node_id = ? AND expires_at <= ?",
                        (record.word, record.name, ch, id_blob(p.node_id), p.expires_at),
                    )
                    removed += cur.rowcount
            self.db.execute(_ORPHANS)
        return removed

    def expire(self, now: float) -> tuple[int, int]:
        """Delete providers whose expiry has passed and records left without providers.
        Returns (providers removed, records removed)."""
        with self._tx():
            providers = self.db.execute(
                "DELETE FROM providers WHERE expires_at <= ?", (now,)
            ).rowcount
            records = self.db.execute(_ORPHANS).rowcount
        return providers, records

    # -- reads ----------------------------------------------------------------------------

    def build(
        self,
        rows: Sequence[tuple[str, str, bytes, int, int, bytes]],
        now: float,
        *,
        offered: bool = False,
    ) -> Iterator[FileRecord]:
        """The records of ``rows`` with their unexpired entries (only those offered to readers,
        no tombstones, when ``offered``); a record left without one is skipped."""
        only = " AND withdrawn = 0" if offered else ""
        for word, name, ch, size, piece_size, hashes in rows:
            providers = tuple(
                Provider(blob_id(node), addr, uri, expires, bool(pinned), bool(withdrawn))
                for node, addr, uri, expires, pinned, withdrawn in self.db.execute(
                    "SELECT node_id, grpc_address, uri, expires_at, pinned, withdrawn"
                    " FROM providers WHERE word = ? AND name = ? AND content_hash = ?"
                    " AND expires_at > ?" + only + " ORDER BY node_id",
                    (word, name, ch, now),
                )
            )
            if not providers:
                continue
            pieces = tuple(hashes[i : i + DIGEST_SIZE] for i in range(0, len(hashes), DIGEST_SIZE))
            yield FileRecord(FileManifest(name, size, piece_size, pieces), providers, word)

    def get(self, name: str, now: float) -> list[FileRecord]:
        """Every variant stored under ``name`` with a live provider, most live providers first
        (ties: content hash order, so the answer is stable); tombstones are left out."""
        rows = self.db.execute(
            "SELECT " + COLUMNS + " FROM records r"
            " WHERE r.name = :name AND r.word = '' AND " + OFFERED,
            {"name": name, "now": now},
        ).fetchall()
        found = list(self.build(rows, now, offered=True))
        found.sort(key=lambda r: (-len(r.providers), r.manifest.content_hash))
        return found

    def range_page(
        self,
        start: int,
        end: int,
        now: float,
        *,
        after: RecordKey | None,
        limit: int,
        max_bytes: int,
    ) -> RecordPage:
        """Records whose key id is in ``(start, end]``, in ring order from ``start`` (then name,
        then content hash), resuming after ``after``; at most ``limit`` records and, beyond the
        first, at most ``max_bytes`` of :func:`encoded_size`."""
        self.space.check(start)
        self.space.check(end)
        segments = arc_segments(start, end)
        cursor: tuple[bytes, str, str, bytes] | None = None
        if after is not None:
            key = self.key_of(after.word or after.name)
            if not in_half_open(key, start, end, self.space.size):
                raise InvalidInput("cursor is outside the range")
            cursor = (id_blob(key), after.word, after.name, after.content_hash)
            if len(segments) == 2 and not key > start:
                segments = segments[1:]
        rows: list[tuple[str, str, bytes, int, int, bytes]] = []
        for i, (low, high) in enumerate(segments):
            want = limit + 1 - len(rows)
            if want <= 0:
                break
            params: dict[str, object] = {"now": now, "want": want}
            if cursor is not None and i == 0:
                # Start the index range at the cursor's key (the cursor lies in this segment,
                # so it is past ``low``): without it SQLite scans from ``low`` every page.
                clauses = [LIVE, *arc_clauses(None, high, params)]
                clauses.append("r.key_id >= :ck")
                clauses.append("(r.key_id, r.word, r.name, r.content_hash) > (:ck, :cw, :cn, :ch)")
                params.update(ck=cursor[0], cw=cursor[1], cn=cursor[2], ch=cursor[3])
            else:
                clauses = [LIVE, *arc_clauses(low, high, params)]
            rows += self.db.execute(
                "SELECT "
                + COLUMNS
                + " FROM records r WHERE "
                + " AND ".join(clauses)
                + " ORDER BY r.key_id, r.word, r.name, r.content_hash LIMIT :want",
                params,
            ).fetchall()
        return cut_page(self.build(rows[:limit], now), len(rows) > limit, max_bytes)

    def next_key(self, start: int, end: int, now: float) -> int | None:
        """The first key id with a live record in ``(start, end]``, going clockwise."""
        for low, high in arc_segments(start, end):
            params: dict[str, object] = {"now": now}
            clauses = [LIVE, *arc_clauses(low, high, params)]
            row = self.db.execute(
                "SELECT r.key_id FROM records r WHERE "
                + " AND ".join(clauses)
                + " ORDER BY r.key_id LIMIT 1",
                params,
            ).fetchone()
            if row is not None:
                return blob_id(row[0])
        return None

    def digest(self, start: int, end: int, now: float) -> bytes:
        """SHA-256 over every live provider row of the records in ``(start, end]``, in a fixed
        order: two holders of the same range agree exactly when their digests are equal."""
        h = hashlib.sha256()
        for low, high in arc_segments(start, end):
            params: dict[str, object] = {"now": now}
            clauses = ["p.expires_at > :now", *arc_clauses(low, high, params)]
            for word, name, ch, node, addr, uri, expires, pinned, withdrawn in self.db.execute(
                "SELECT r.word, r.name, r.content_hash, p.node_id, p.grpc_address, p.uri,"
                " p.expires_at, p.pinned, p.withdrawn FROM records r JOIN providers p"
                " ON p.word = r.word AND p.name = r.name AND p.content_hash = r.content_hash"
                " WHERE "
                + " AND ".join(clauses)
                + " ORDER BY r.key_id, r.word, r.name, r.content_hash, p.node_id",
                params,
            ):
                parts = (word.encode(), name.encode(), ch, node, addr.encode(), uri.encode())
                for part in parts:
                    h.update(len(part).to_bytes(4, "big"))
                    h.update(part)
                h.update(float(expires).hex().encode())
                h.update(bytes((int(pinned), int(withdrawn))))
        return h.digest()

    def list_names(self, after: str, limit: int, now: float) -> list[str]:
        """Distinct names with a live record, sorted (code point order), greater than ``after``."""
        rows = self.db.execute(
            "SELECT DISTINCT r.name FROM records r WHERE r.name > :after AND r.word = '' AND "
            + OFFERED
            + " ORDER BY r.name LIMIT :limit",
            {"after": after, "limit": limit, "now": now},
        ).fetchall()
        return [name for (name,) in rows]

    def count(self, now: float) -> int:
        """Name records offered to readers (with an unexpired entry that is not a tombstone);
        word entries are not counted."""
        row = self.db.execute(
            "SELECT COUNT(*) FROM records r WHERE r.word = '' AND " + OFFERED, {"now": now}
        ).fetchone()
        return int(row[0])

    def entries_of(self, node_id: int, now: float, *, words: bool = False) -> int:
        """Unexpired entries offering ``node_id`` as a provider, over every name record (over
        every word entry, with ``words``)."""
        kind = "word <> ''" if words else "word = ''"
        row = self.db.execute(
            "SELECT COUNT(*) FROM providers WHERE node_id = ? AND withdrawn = 0"
            " AND expires_at > ? AND " + kind,
            (id_blob(node_id), now),
        ).fetchone()
        return int(row[0])


def cut_page(records: Iterable[FileRecord], more: bool, max_bytes: int) -> RecordPage:
    """A page of ``records`` in order, cut before the first that would take it over
    ``max_bytes`` of :func:`encoded_size` (the first always goes in); ``more``: rows were left
    out already."""
    page: list[FileRecord] = []
    used = 0
    for record in records:
        size = encoded_size(record)
        if page and used + size > max_bytes:
            return RecordPage(tuple(page), True)
        page.append(record)
        used += size
    return RecordPage(tuple(page), more)
