"""Pieces, the shared-directory index and the blob store, without any network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chordshare.errors import IntegrityError, InvalidInput, InvalidName, NotFound
from chordshare.model.manifest import FileManifest
from chordshare.storage.files.blobs import BlobStore, PartialFile
from chordshare.storage.files.index import SharedIndex
from chordshare.storage.files.pieces import (
    PieceHasher,
    PieceReader,
    PieceReceiver,
    hash_file,
    verify_piece,
)
from tests.storage.helpers import manifest_for, store_file

from .conftest import SMALL_PIECE, data_of

# -- pieces -----------------------------------------------------------------------------------


@given(st.binary(max_size=5 * SMALL_PIECE), st.integers(1, 4000))
def test_stream_hashing_matches_file_hashing(content: bytes, block: int) -> None:
    hasher = PieceHasher(SMALL_PIECE)
    for start in range(0, len(content), block):
        hasher.update(content[start : start + block])
    streamed = hasher.manifest("f")
    assert streamed.size == len(content)
    for i in range(streamed.pieces):
        verify_piece(streamed, i, content[i * SMALL_PIECE : (i + 1) * SMALL_PIECE])


def test_hash_file_reads_pieces(tmp_path: Path) -> None:
    content = data_of(3 * SMALL_PIECE + 1)
    (tmp_path / "f").write_bytes(content)
    manifest = hash_file(tmp_path / "f", "f", SMALL_PIECE)
    hasher = PieceHasher(SMALL_PIECE)
    hasher.update(content)
    assert manifest == hasher.manifest("f")
    assert manifest.pieces == 4
    assert manifest.piece_length(3) == 1
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert hash_file(empty, "empty", SMALL_PIECE).pieces == 0


def test_receiver_refuses_what_the_manifest_does_not_allow() -> None:
    content = data_of(2 * SMALL_PIECE)
    hasher = PieceHasher(SMALL_PIECE)
    hasher.update(content)
    receiver = PieceReceiver(hasher.manifest("f"))
    with pytest.raises(InvalidInput, match="out of range"):
        receiver.feed(2, 0, b"x")
    with pytest.raises(InvalidInput, match="expected 0"):
        receiver.feed(0, 5, b"x")
    with pytest.raises(InvalidInput, match="empty"):
        receiver.feed(0, 0, b"")
    with pytest.raises(InvalidInput, match="past the end"):
        receiver.feed(0, 0, b"x" * (SMALL_PIECE + 1))
    assert receiver.feed(0, 0, content[:100]) is False
    assert receiver.feed(0, 100, content[100:SMALL_PIECE]) is True
    with pytest.raises(InvalidInput, match="already"):
        receiver.feed(0, 0, content[:SMALL_PIECE])
    with pytest.raises(IntegrityError, match="piece 1"):
        receiver.feed(1, 0, bytes(SMALL_PIECE))
    assert receiver.feed(1, 0, content[SMALL_PIECE:]) is True  # a failed piece may come again
    assert receiver.complete


# -- index --------------------------------------------------------------------------------


class CountingHasher:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, path: Path, name: str, piece_size: int) -> FileManifest:
        self.calls.append(name)
        return hash_file(path, name, piece_size)


def make_index(root: Path, hasher: CountingHasher) -> SharedIndex:
    return SharedIndex(root / "shared", root / "data", SMALL_PIECE, hasher=hasher)


def test_unchanged_files_are_not_rehashed_across_scans_and_restarts(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "a").write_bytes(data_of(SMALL_PIECE * 2))
    (shared / "b").write_bytes(b"bee")
    hasher = CountingHasher()
    index = make_index(tmp_path, hasher)

    first = index.scan()
    assert sorted(hasher.calls) == ["a", "b"]
    assert first.added == ("a", "b")
    assert first.hashed == 2
    assert index.scan().hashed == 0

    restarted = make_index(tmp_path, hasher)  # a new process: the SQLite cache answers
    result = restarted.scan()
    assert result.hashed == 0
    assert len(hasher.calls) == 2
    assert [f.manifest for f in result.files] == [f.manifest for f in first.files]

    (shared / "b").write_bytes(b"changed")
    os.utime(shared / "b", ns=(1, 1))
    (shared / "a").unlink()
    result = restarted.scan()
    assert hasher.calls[2:] == ["b"]
    assert result.changed == ("b",)
    assert result.removed == ("a",)
    found = restarted.by_name("b")
    assert found is not None
    assert restarted.by_content(found.manifest.content_hash) == found


def test_scan_shares_only_safe_top_level_regular_files(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    (shared / "sub").mkdir(parents=True)
    (shared / "sub" / "nested").write_bytes(b"n")
    (shared / "plain").write_bytes(b"p")
    (shared / "bad\nname").write_bytes(b"x")
    outside = tmp_path / "secret"
    outside.write_bytes(b"do not share")
    (shared / "escape").symlink_to(outside)
    (shared / "up").symlink_to("../secret")
    (shared / "inside").symlink_to(shared / "plain")
    (shared / "deep").symlink_to(shared / "sub" / "nested")
    (shared / "dangling").symlink_to(tmp_path / "missing")
    (shared / "loop").symlink_to(shared / "loop")
    os.mkfifo(shared / "fifo")

    index = make_index(tmp_path, CountingHasher())
    names = [f.manifest.name for f in index.scan().files]

    assert names == ["deep", "inside", "plain"]
    inside = index.by_name("inside")
    assert inside is not None
    assert inside.path == (shared / "plain").resolve()


def test_a_file_changed_after_the_scan_is_not_served(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "f").write_bytes(b"original")
    index = make_index(tmp_path, CountingHasher())
    index.scan()
    found = index.by_name("f")
    assert found is not None
    (shared / "f").write_bytes(b"replaced!")
    with pytest.raises(NotFound, match="changed"):
        index.reader(found.manifest.content_hash)


# -- blob store ---------------------------------------------------------------------------


def test_blob_store_survives_a_restart_and_drops_orphans(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    content = data_of(2 * SMALL_PIECE + 3)
    kept = store_file(blobs, "kept", content)
    tampered = store_file(blobs, "tampered", b"abc")
    (blobs.files_dir / "orphan").write_bytes(b"no meta")
    (blobs.incoming_dir / "x.part").write_bytes(b"half an upload")
    (blobs.files_dir / tampered.content_hash.hex()).write_bytes(b"abcd")

    again = BlobStore(tmp_path)

    assert [s.manifest.name for s in again.files()] == ["kept"]
    reader = again.reader(manifest_for("kept", content).content_hash)
    assert reader is not None
    with reader:
        assert reader.read(2, 0, 3) == content[-3:]
    assert sorted(p.name for p in again.files_dir.iterdir()) == [kept.content_hash.hex()]
    assert list(again.incoming_dir.iterdir()) == []


def test_partial_of_other_content_starts_afresh(tmp_path: Path) -> None:
    old = manifest_for("f", data_of(2 * SMALL_PIECE, seed=1))
    new_content = data_of(2 * SMALL_PIECE, seed=2)
    new = manifest_for("f", new_content)
    first = PartialFile(old, tmp_path / "f.part", tmp_path / "f")
    first.open()
    first.write(0, 0, data_of(2 * SMALL_PIECE, seed=1)[:SMALL_PIECE])
    first.mark_verified(0)
    first.close()

    second = PartialFile(new, tmp_path / "f.part", tmp_path / "f")
    assert second.open() == set()
    second.close()
    third = PartialFile(old, tmp_path / "f.part", tmp_path / "f")
    assert third.open() == set()  # the log was rewritten for the new content
    third.discard()
    assert list(tmp_path.iterdir()) == []


def test_reader_never_follows_a_symlink_swapped_in(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "data")
    store_file(blobs, "f", b"mine")
    outside = tmp_path / "outside"
    outside.write_bytes(b"evil")
    stored = blobs.latest("f")
    assert stored is not None
    stored.path.unlink()
    stored.path.symlink_to(outside)
    with pytest.raises(NotFound):
        PieceReader.open(stored.path, stored.manifest)


@pytest.mark.parametrize("name", ["..", "a/b", "", "x" * 256])
def test_store_paths_refuse_bad_names(tmp_path: Path, name: str) -> None:
    blobs = BlobStore(tmp_path)
    with pytest.raises(InvalidName):
        blobs.partial(FileManifest(name, 0, SMALL_PIECE, ()))


def test_a_new_piece_size_rehashes(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "f").write_bytes(data_of(4 * SMALL_PIECE))
    hasher = CountingHasher()
    index = make_index(tmp_path, hasher)
    index.scan()
    index.piece_size = 2 * SMALL_PIECE
    assert index.scan().hashed == 1
    found = index.by_name("f")
    assert found is not None
    assert found.manifest.pieces == 2
