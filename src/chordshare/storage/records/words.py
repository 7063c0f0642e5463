"""Reading the word entries filed under one word (:mod:`chordshare.model.words`): a search's
question to the owner of the word's key. Synchronous, on the store's database thread, like
:mod:`chordshare.storage.records.sql`."""

from __future__ import annotations

from chordshare.model.manifest import FileRecord
from chordshare.model.records import RecordKey, RecordPage
from chordshare.storage.records.sql import COLUMNS, LIVE, OFFERED, SqliteRecords, cut_page


def word_page(
    core: SqliteRecords,
    word: str,
    after: RecordKey | None,
    limit: int,
    now: float,
    max_bytes: int,
) -> RecordPage:
    """The word entries under ``word`` offered to readers (tombstones and expired entries left
    out), by name then content hash, after ``after``; at most ``limit`` of them and, beyond the
    first, at most ``max_bytes`` of :func:`encoded_size`."""
    params: dict[str, object] = {"word": word, "now": now, "want": limit + 1}
    where = "r.word = :word AND " + OFFERED
    if after is not None:
        where += " AND (r.name, r.content_hash) > (:an, :ah)"
        params.update(an=after.name, ah=after.content_hash)
    rows = core.db.execute(
        "SELECT "
        + COLUMNS
        + " FROM records r WHERE "
        + where
        + " ORDER BY r.name, r.content_hash LIMIT :want",
        params,
    ).fetchall()
    return cut_page(core.build(rows[:limit], now, offered=True), len(rows) > limit, max_bytes)


def held(core: SqliteRecords, word: str, name: str, now: float) -> list[FileRecord]:
    """Every variant of ``name`` filed under ``word`` (``""``: the name records) with all its
    unexpired entries, tombstones included: what an incoming entry is judged against."""
    rows = core.db.execute(
        "SELECT "
        + COLUMNS
        + " FROM records r WHERE r.word = :word AND r.name = :name AND "
        + LIVE
        + " ORDER BY r.content_hash",
        {"word": word, "name": name, "now": now},
    ).fetchall()
    return list(core.build(rows, now))
