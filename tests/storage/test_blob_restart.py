"""A restarted blob store keeps what it can prove: a stored file whose size, mtime or inode
changed since it was recorded (a copy of data_dir, a restore from backup, a filesystem that
renumbers inodes) is re-hashed piece by piece against its manifest and kept when it matches;
only a file whose bytes no longer match is dropped, with a log line."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import pytest

from chordshare.storage.files.blobs import BlobStore
from chordshare.storage.files.pieces import FileIdentity

from .helpers import PIECE, data_of, data_path, store_file

CONTENT = data_of(5 * PIECE + 123)


def recorded_identity(blobs: BlobStore, name: str) -> FileIdentity:
    """The identity written in the file's meta on disk (not the in-memory copy)."""
    docs = [json.loads(m.read_text()) for m in blobs.meta_dir.glob("*.json")]
    (doc,) = [d["identity"] for d in docs if name in d["names"]]
    return FileIdentity(doc["size"], doc["mtime"], doc["inode"])


def read_all(blobs: BlobStore, name: str) -> bytes:
    stored = blobs.latest(name)
    assert stored is not None
    reader = blobs.reader(stored.manifest.content_hash)
    assert reader is not None
    with reader:
        m = stored.manifest
        return b"".join(reader.read(i, 0, m.piece_length(i)) for i in range(m.pieces))


def test_a_file_whose_mtime_changed_is_reverified_and_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blobs = BlobStore(tmp_path)
    path = data_path(blobs, store_file(blobs, "movie.mkv", CONTENT))
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))

    with caplog.at_level(logging.INFO, logger="chordshare.storage.files.blobs"):
        again = BlobStore(tmp_path)

    assert [s.manifest.name for s in again.files()] == ["movie.mkv"]
    now = FileIdentity.of(path.lstat())
    assert now.mtime_ns == 1_000_000_000
    stored = again.latest("movie.mkv")
    assert stored is not None
    assert stored.identity == now
    assert recorded_identity(again, "movie.mkv") == now  # the next start need not re-hash
    assert read_all(again, "movie.mkv") == CONTENT  # the reader accepts the new identity
    assert any("re-verified movie.mkv" in r.getMessage() for r in caplog.records)

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="chordshare.storage.files.blobs"):
        BlobStore(tmp_path)
    assert not any("re-verif" in r.getMessage() for r in caplog.records)


def test_a_file_whose_inode_changed_is_reverified_and_kept(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    path = data_path(blobs, store_file(blobs, "a.bin", CONTENT))
    before = FileIdentity.of(path.lstat())
    copy = tmp_path / "copy"
    shutil.copy2(path, copy)  # same bytes and mtime, another inode
    os.replace(copy, path)
    assert FileIdentity.of(path.lstat()).inode != before.inode

    again = BlobStore(tmp_path)

    stored = again.latest("a.bin")
    assert stored is not None
    assert stored.identity == FileIdentity.of(path.lstat())
    assert read_all(again, "a.bin") == CONTENT


def test_a_copied_data_dir_keeps_its_files(tmp_path: Path) -> None:
    """Every file of a data_dir copied elsewhere has a new inode (and, without -p, mtime)."""
    blobs = BlobStore(tmp_path / "old")
    store_file(blobs, "one", CONTENT)
    store_file(blobs, "two", b"tiny")
    store_file(blobs, "void", b"")
    shutil.copytree(tmp_path / "old", tmp_path / "new", copy_function=shutil.copyfile)

    moved = BlobStore(tmp_path / "new")

    assert [s.manifest.name for s in moved.files()] == ["one", "two", "void"]
    assert read_all(moved, "two") == b"tiny"


def test_a_corrupted_file_is_dropped_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blobs = BlobStore(tmp_path)
    path = data_path(blobs, store_file(blobs, "bad.bin", CONTENT))
    store_file(blobs, "good.bin", CONTENT[:PIECE])
    with path.open("r+b") as f:  # same size, one byte flipped in piece 3
        f.seek(3 * PIECE + 7)
        byte = f.read(1)
        f.seek(3 * PIECE + 7)
        f.write(bytes([byte[0] ^ 0xFF]))

    with caplog.at_level(logging.WARNING, logger="chordshare.storage.files.blobs"):
        again = BlobStore(tmp_path)

    assert [s.manifest.name for s in again.files()] == ["good.bin"]
    assert not path.exists()
    assert len(list(again.meta_dir.glob("*.json"))) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "bad.bin" in warnings[0]
    assert "piece 3" in warnings[0]


def test_a_file_of_another_size_is_dropped(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    with data_path(blobs, store_file(blobs, "f", CONTENT)).open("ab") as f:
        f.write(b"more")

    assert BlobStore(tmp_path).files() == []
    assert list((tmp_path / "blobs" / "files").iterdir()) == []


def test_a_symlink_in_place_of_a_stored_file_is_dropped(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "data")
    path = data_path(blobs, store_file(blobs, "f", b"mine"))
    outside = tmp_path / "outside"
    outside.write_bytes(b"mine")  # even with the right bytes: never read through a link
    path.unlink()
    path.symlink_to(outside)

    assert BlobStore(tmp_path / "data").files() == []
    assert outside.read_bytes() == b"mine"


def test_a_missing_data_file_drops_its_meta(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    data_path(blobs, store_file(blobs, "f", CONTENT)).unlink()

    again = BlobStore(tmp_path)

    assert again.files() == []
    assert list(again.meta_dir.iterdir()) == []


def test_an_interrupted_meta_write_leaves_nothing_behind(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    store_file(blobs, "f", CONTENT)
    (blobs.meta_dir / "0123.json.tmp").write_text('{"name": "half')

    again = BlobStore(tmp_path)

    assert [s.manifest.name for s in again.files()] == ["f"]
    assert [p.suffix for p in again.meta_dir.iterdir()] == [".json"]
