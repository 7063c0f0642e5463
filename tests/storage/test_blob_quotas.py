"""Quotas of the blob store: pinned bytes (uploads, with those in flight reserved) are refused
cleanly past ``pinned_quota``; cached bytes past ``cache_quota`` evict the least recently used
cached files, never a pinned one nor one being read; last uses survive a restart once flushed."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from chordshare.errors import LimitExceeded
from chordshare.storage.files.blobs import BlobStore

from .helpers import PIECE, data_of, data_path, manifest_for, store_file


class WallClock:
    """A wall clock that moves only when told to."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float = 1.0) -> None:
        self.now += seconds


A, B, C, D = (data_of(PIECE, seed=s) for s in range(4))
"""Files of one piece (16 KiB) each."""


def contents(blobs: BlobStore) -> set[bytes]:
    return {s.content_hash for s in blobs.files()}


def fill(blobs: BlobStore, content: bytes, name: str = "f.bin") -> None:
    """Write all of ``content`` into a fresh upload and finish it."""
    manifest = manifest_for(name, content)
    partial = blobs.incoming(manifest)
    partial.write(0, 0, content)
    partial.mark_verified(0)
    partial.finish()


# -- pinned ------------------------------------------------------------------------------


def test_an_upload_over_the_pinned_quota_is_refused_and_nothing_is_lost(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path, pinned_quota=2 * PIECE + 100)
    kept = [store_file(blobs, "a", A), store_file(blobs, "b", B)]
    before = sorted(p.name for p in blobs.root.rglob("*"))

    with pytest.raises(LimitExceeded) as refused:
        blobs.incoming(manifest_for("c.bin", C))

    assert str(refused.value) == (
        f"storage full: {2 * PIECE} of {2 * PIECE + 100} pinned bytes used, c.bin needs {PIECE}"
    )
    assert sorted(p.name for p in blobs.root.rglob("*")) == before
    assert contents(blobs) == {m.content_hash for m in kept}
    assert blobs.usage().reserved_bytes == 0
    assert contents(BlobStore(tmp_path, pinned_quota=2 * PIECE + 100)) == contents(blobs)


def test_uploads_in_flight_reserve_their_bytes_until_they_end(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path, pinned_quota=2 * PIECE)
    first = blobs.incoming(manifest_for("a", A))
    second = blobs.incoming(manifest_for("b", B))
    assert blobs.usage().reserved_bytes == 2 * PIECE
    with pytest.raises(LimitExceeded, match=f"{2 * PIECE} of {2 * PIECE} pinned bytes used"):
        blobs.incoming(manifest_for("c", C))

    first.discard()  # a refused or broken upload gives its reservation back
    third = blobs.incoming(manifest_for("c", C))
    second.close()
    assert blobs.usage().reserved_bytes == PIECE
    third.write(0, 0, C)
    third.mark_verified(0)
    third.finish()

    usage = blobs.usage()
    assert (usage.pinned_bytes, usage.reserved_bytes, usage.pinned_files) == (PIECE, 0, 1)
    fill(blobs, D)
    with pytest.raises(LimitExceeded):
        blobs.incoming(manifest_for("a", A))


def test_a_content_already_pinned_needs_no_room(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path, pinned_quota=PIECE)
    store_file(blobs, "a", A)

    store_file(blobs, "other-name", A)  # the same bytes under another name: no new bytes
    store_file(blobs, "empty", b"")  # nor does an empty file

    assert blobs.usage().pinned_bytes == PIECE
    with pytest.raises(LimitExceeded):
        blobs.incoming(manifest_for("b", B))


def test_pinning_a_cached_file_counts_against_the_pinned_quota(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path, pinned_quota=PIECE)
    store_file(blobs, "a", A)
    cached = store_file(blobs, "b", B, kind="cached")

    with pytest.raises(LimitExceeded, match=f"b needs {PIECE}"):
        blobs.pin(cached)
    with pytest.raises(LimitExceeded):
        blobs.incoming(cached)

    stored = blobs.by_content(cached.content_hash)
    assert stored is not None
    assert stored.kind == "cached"
    assert blobs.usage().reserved_bytes == 0


def test_quotas_must_be_positive(tmp_path: Path) -> None:
    for bad in ({"pinned_quota": 0}, {"cache_quota": -1}):
        with pytest.raises(ValueError, match="positive"):
            BlobStore(tmp_path, **bad)  # type: ignore[arg-type]


# -- cached ------------------------------------------------------------------------------


def test_a_download_larger_than_the_cache_is_refused(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path, cache_quota=PIECE)
    big = manifest_for("big", data_of(PIECE + 1))

    with pytest.raises(LimitExceeded, match=f"big is {PIECE + 1} bytes, over the cache quota"):
        blobs.partial(big)

    assert list(blobs.partial_dir.iterdir()) == []
    blobs.partial(big, "pinned").close()  # a pinned copy is bound by the other quota


def test_the_least_recently_used_cached_files_are_evicted_first(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = WallClock()
    blobs = BlobStore(tmp_path, cache_quota=2 * PIECE, wall_clock=clock)
    pinned = store_file(blobs, "pinned", D)
    a = store_file(blobs, "a", A, kind="cached")
    clock.tick()
    b = store_file(blobs, "b", B, kind="cached")
    clock.tick()
    reader = blobs.reader(a.content_hash)  # a read: now b is the least recently used
    assert reader is not None
    reader.close()
    clock.tick()

    with caplog.at_level(logging.INFO, logger="chordshare.storage.files.blobs"):
        c = store_file(blobs, "c", C, kind="cached")

    assert contents(blobs) == {pinned.content_hash, a.content_hash, c.content_hash}
    assert not data_path(blobs, b).exists()
    assert any("evicted cached b" in r.getMessage() for r in caplog.records)
    usage = blobs.usage()
    assert (usage.cached_bytes, usage.cached_files, usage.pinned_files) == (2 * PIECE, 2, 1)

    clock.tick()
    assert blobs.touch(c.content_hash)  # what a REST read of the file counts as
    clock.tick()
    store_file(blobs, "b", B, kind="cached")
    assert a.content_hash not in contents(blobs)
    assert c.content_hash in contents(blobs)
    assert pinned.content_hash in contents(blobs)  # never evicted, whatever its age


def test_a_file_being_read_is_not_evicted(tmp_path: Path) -> None:
    clock = WallClock()
    blobs = BlobStore(tmp_path, cache_quota=PIECE, wall_clock=clock)
    a = store_file(blobs, "a", A, kind="cached")
    reader = blobs.reader(a.content_hash)
    assert reader is not None
    clock.tick()

    b = store_file(blobs, "b", B, kind="cached")  # over the quota until the reader closes

    assert contents(blobs) == {a.content_hash, b.content_hash}
    assert reader.read(0, 0, 10) == A[:10]
    reader.close()
    clock.tick()
    c = store_file(blobs, "c", C, kind="cached")
    assert contents(blobs) == {c.content_hash}


def test_a_smaller_cache_quota_evicts_at_start(tmp_path: Path) -> None:
    clock = WallClock()
    blobs = BlobStore(tmp_path, wall_clock=clock)
    for name, content in (("a", A), ("b", B), ("c", C)):
        store_file(blobs, name, content, kind="cached")
        clock.tick()

    again = BlobStore(tmp_path, cache_quota=PIECE, wall_clock=clock)

    assert [s.names for s in again.files()] == [("c",)]


@pytest.mark.parametrize("swept", [False, True])
def test_last_uses_survive_a_restart_once_swept(tmp_path: Path, swept: bool) -> None:
    clock = WallClock()
    blobs = BlobStore(tmp_path, wall_clock=clock)
    a = store_file(blobs, "a", A, kind="cached")
    clock.tick()
    b = store_file(blobs, "b", B, kind="cached")
    clock.tick()
    assert blobs.touch(a.content_hash)  # in memory: a is now the most recently used
    if swept:
        assert blobs.sweep_stale() == 0  # writes the use into a's meta
        assert blobs.flush_used() == 0  # nothing left to write

    again = BlobStore(tmp_path, cache_quota=PIECE, wall_clock=clock)

    kept = a if swept else b  # unswept, the restart knows only when each was stored
    assert [s.content_hash for s in again.files()] == [kept.content_hash]
    assert again.last_used(kept.content_hash) == (clock.now if swept else clock.now - 1)
