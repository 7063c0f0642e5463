"""The blob store's layout on disk: files and metas named by content hash only; what it drops
at start (the earlier by-name layout, with one warning line; metas that do not describe their
content); a changed data file re-verified keeps every name and the kind."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import pytest

from chordshare.storage.files.blobs import BlobStore
from chordshare.storage.files.pieces import FileIdentity

from .helpers import PIECE, data_of, data_path, manifest_for, store_file

LOGGER = "chordshare.storage.files.blobs"


def old_layout_file(blobs: BlobStore, name: str, content: bytes) -> None:
    """A file as the by-name layout stored it: ``files/<name>`` and a meta named by the
    SHA-256 of the name, with a ``name`` key."""
    m = manifest_for(name, content)
    path = blobs.files_dir / name
    path.write_bytes(content)
    ident = FileIdentity.of(path.lstat())
    doc = {
        "name": name,
        "size": m.size,
        "piece_size": m.piece_size,
        "piece_hashes": [h.hex() for h in m.piece_hashes],
        "identity": {"size": ident.size, "mtime": ident.mtime_ns, "inode": ident.inode},
    }
    meta = blobs.meta_dir / (hashlib.sha256(name.encode()).hexdigest() + ".json")
    meta.write_text(json.dumps(doc))


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_only_content_hashes_name_files_and_metas(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    manifest = store_file(blobs, "holiday photo.jpg", data_of(PIECE + 1))

    hexa = manifest.content_hash.hex()
    assert [p.name for p in blobs.files_dir.iterdir()] == [hexa]
    (meta,) = blobs.meta_dir.iterdir()
    assert meta.name == f"{hexa}.json"
    doc = json.loads(meta.read_text())
    assert doc["names"] == {"holiday photo.jpg": 0}
    assert doc["kind"] == "pinned"
    assert doc["size"] == PIECE + 1


def test_the_old_by_name_layout_is_dropped_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blobs = BlobStore(tmp_path)
    kept = store_file(blobs, "new.bin", data_of(100, seed=9))
    for i in range(3):
        old_layout_file(blobs, f"old-{i}.bin", data_of(PIECE, seed=i))

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        again = BlobStore(tmp_path)

    assert [s.content_hash for s in again.files()] == [kept.content_hash]
    assert [p.name for p in again.files_dir.iterdir()] == [kept.content_hash.hex()]
    assert len(list(again.meta_dir.iterdir())) == 1
    (line,) = warnings(caplog)
    assert "dropped 3 file(s)" in line
    assert "by-name layout" in line


def test_a_meta_that_does_not_describe_its_content_is_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blobs = BlobStore(tmp_path)
    moved = store_file(blobs, "moved", data_of(PIECE, seed=1))
    kept = store_file(blobs, "kept", data_of(PIECE, seed=2))
    elsewhere = "ab" * 32  # a meta renamed to another content's name
    os.replace(
        blobs.meta_dir / f"{moved.content_hash.hex()}.json", blobs.meta_dir / f"{elsewhere}.json"
    )
    (blobs.meta_dir / "not-hex.json").write_text("{}")
    (blobs.files_dir / "stray").write_bytes(b"no meta")

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        again = BlobStore(tmp_path)

    assert [s.content_hash for s in again.files()] == [kept.content_hash]
    assert sorted(p.name for p in again.files_dir.iterdir()) == [kept.content_hash.hex()]
    assert len(warnings(caplog)) == 4  # two unreadable metas, two data files without one


def test_a_changed_file_is_reverified_with_its_names_and_kind(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    content = data_of(4 * PIECE + 3)
    blobs = BlobStore(tmp_path)
    store_file(blobs, "a", content, kind="cached")
    manifest = store_file(blobs, "b", content, kind="cached")
    before = blobs.files()
    path = data_path(blobs, manifest)
    os.utime(path, ns=(5_000_000_000, 5_000_000_000))

    with caplog.at_level(logging.INFO, logger=LOGGER):
        again = BlobStore(tmp_path)

    (stored,) = again.files()
    assert stored.names == before[0].names == ("a", "b")
    assert stored.kind == "cached"
    assert stored.identity == FileIdentity.of(path.lstat())
    assert any("re-verified b" in r.getMessage() for r in caplog.records)
    reader = again.reader(manifest.content_hash)
    assert reader is not None
    with reader:
        assert reader.read(4, 0, 3) == content[-3:]
