"""Range queries and pagination of the store against a brute-force filter (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chordshare.model.manifest import FileRecord
from chordshare.model.records import RecordKey
from chordshare.ring import IdSpace, in_half_open
from chordshare.storage.records.sql import SqliteRecords
from tests.records.factory import provider, record

SPACE = IdSpace(6)
"""64 ids: names collide on keys often, which is the hard case for ring-ordered pages."""
NOW = 1_000.0

NAMES = [f"file-{i}.dat" for i in range(40)]

ids = st.integers(min_value=0, max_value=SPACE.size - 1)
stored = st.lists(
    st.tuples(st.sampled_from(NAMES), st.sampled_from(["x", "y"]), st.booleans()),
    max_size=30,
)


def build(entries: list[tuple[str, str, bool]]) -> list[FileRecord]:
    """Records from (name, content, live?) triples; a dead one has only an expired provider."""
    return [
        record(name, provider(1, NOW + 10 if live else NOW - 10), content=content)
        for name, content, live in entries
    ]


def ring_order(start: int, r: FileRecord) -> tuple[int, str, bytes]:
    key = SPACE.hash_key(r.name)
    # (start, end] runs start+1, ..., start: distance - 1 mod size orders it, start itself last.
    return ((key - start - 1) % SPACE.size, r.name, r.manifest.content_hash)


@settings(max_examples=200)
@given(stored, ids, ids, st.integers(min_value=1, max_value=7))
def test_pages_concatenate_to_the_brute_force_range(
    entries: list[tuple[str, str, bool]], start: int, end: int, limit: int
) -> None:
    db = SqliteRecords(None, SPACE)
    try:
        records = build(entries)
        db.put(records, NOW - 100)  # stored while every provider was still live
        expected_keys = {
            RecordKey.of(r)
            for r in records
            if r.providers[0].expires_at > NOW
            and in_half_open(SPACE.hash_key(r.name), start, end, SPACE.size)
        }
        got: list[FileRecord] = []
        after: RecordKey | None = None
        for _ in range(100):
            page = db.range_page(start, end, NOW, after=after, limit=limit, max_bytes=1 << 20)
            assert len(page.records) <= limit
            got.extend(page.records)
            after = page.next_after
            if after is None:
                break
        assert {RecordKey.of(r) for r in got} == expected_keys
        assert len(got) == len(expected_keys)
        assert got == sorted(got, key=lambda r: ring_order(start, r))
        first = db.next_key(start, end, NOW)
        assert first == (SPACE.hash_key(got[0].name) if got else None)
    finally:
        db.close()


@settings(max_examples=100)
@given(stored, st.integers(min_value=1, max_value=5))
def test_list_names_pages_cover_every_live_name_once(
    entries: list[tuple[str, str, bool]], limit: int
) -> None:
    db = SqliteRecords(None, SPACE)
    try:
        records = build(entries)
        db.put(records, NOW - 100)
        expected = sorted({r.name for r in records if r.providers[0].expires_at > NOW})
        got: list[str] = []
        after = ""
        while True:
            page = db.list_names(after, limit, NOW)
            got.extend(page)
            if len(page) < limit:
                break
            after = page[-1]
        assert got == expected
    finally:
        db.close()
