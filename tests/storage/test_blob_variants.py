"""Bytes are stored under their content hash, never under a name: two files stored under one
name both stay readable, one content stored under two names is one copy of its bytes, and a
restarted store keeps every name and kind."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from chordshare.errors import NotFound
from chordshare.storage.files.blobs import BlobStore

from .helpers import PIECE, data_of, data_path, manifest_for, store_file

V1 = data_of(3 * PIECE + 5, seed=1)
V2 = data_of(2 * PIECE + 9, seed=2)


def read_content(blobs: BlobStore, content_hash: bytes) -> bytes | None:
    reader = blobs.reader(content_hash)
    if reader is None:
        return None
    with reader:
        m = reader.manifest
        return b"".join(reader.read(i, 0, m.piece_length(i)) for i in range(m.pieces))


def test_a_second_content_under_a_name_leaves_the_first_readable(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    first = store_file(blobs, "same.txt", V1)
    second = store_file(blobs, "same.txt", V2)

    assert read_content(blobs, first.content_hash) == V1
    assert read_content(blobs, second.content_hash) == V2
    variants = blobs.by_name("same.txt")
    assert [s.content_hash for s in variants] == [second.content_hash, first.content_hash]
    assert [s.manifest for s in variants] == [second, first]
    latest = blobs.latest("same.txt")
    assert latest is not None
    assert latest.content_hash == second.content_hash
    assert {p.name for p in blobs.files_dir.iterdir()} == {
        first.content_hash.hex(),
        second.content_hash.hex(),
    }
    assert data_path(blobs, first).read_bytes() == V1


def test_storing_an_older_content_again_makes_it_the_latest(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    first = store_file(blobs, "same.txt", V1)
    store_file(blobs, "same.txt", V2)
    store_file(blobs, "same.txt", V1)

    latest = blobs.latest("same.txt")
    assert latest is not None
    assert latest.content_hash == first.content_hash
    assert len(blobs.files()) == 2


def test_one_content_under_two_names_is_one_copy(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    a = store_file(blobs, "a.txt", V1)
    b = store_file(blobs, "b.txt", V1)

    assert a.content_hash == b.content_hash
    assert [p.name for p in blobs.files_dir.iterdir()] == [a.content_hash.hex()]
    assert len(list(blobs.meta_dir.iterdir())) == 1
    stored = blobs.by_content(a.content_hash)
    assert stored is not None
    assert stored.names == ("a.txt", "b.txt")
    assert stored.manifest == b  # under the name stored last
    assert stored.manifest_as("a.txt") == a
    with pytest.raises(ValueError, match="not a name of"):
        stored.manifest_as("c.txt")
    assert blobs.by_name("a.txt") == blobs.by_name("b.txt") == [stored]
    usage = blobs.usage()
    assert (usage.pinned_bytes, usage.pinned_files) == (len(V1), 1)
    assert list(blobs.incoming_dir.iterdir()) == []  # the second copy was dropped


def test_a_download_of_a_content_held_under_another_name_needs_no_byte(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    store_file(blobs, "a.txt", V1)
    wanted = manifest_for("b.txt", V1)

    partial = blobs.partial(wanted)
    assert partial.open() == set(range(wanted.pieces))  # complete already
    assert partial.missing() == []
    path = partial.finish()

    assert path == data_path(blobs, wanted)
    assert list(blobs.partial_dir.iterdir()) == []
    stored = blobs.latest("b.txt")
    assert stored is not None
    assert stored.names == ("a.txt", "b.txt")
    assert stored.kind == "pinned"  # a cached copy never demotes a pinned one


def test_a_pinned_copy_of_a_cached_file_makes_it_pinned(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    manifest = store_file(blobs, "f", V1, kind="cached")
    stored = blobs.by_content(manifest.content_hash)
    assert stored is not None
    assert stored.kind == "cached"

    store_file(blobs, "f", V1)  # an upload of the same bytes

    stored = blobs.by_content(manifest.content_hash)
    assert stored is not None
    assert stored.kind == "pinned"
    usage = blobs.usage()
    assert (usage.pinned_bytes, usage.cached_bytes, usage.cached_files) == (len(V1), 0, 0)


def test_pin_keeps_a_cached_file_as_pinned_under_the_name_given(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    cached = store_file(blobs, "cached.bin", V1, kind="cached")

    pinned = blobs.pin(manifest_for("upload.bin", V1))

    assert pinned.kind == "pinned"
    assert pinned.names == ("cached.bin", "upload.bin")
    assert blobs.by_content(cached.content_hash) == pinned
    with pytest.raises(NotFound):
        blobs.pin(manifest_for("other", V2))


def test_a_restart_keeps_names_kinds_and_the_latest_of_each_name(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    first = store_file(blobs, "same.txt", V1)
    second = store_file(blobs, "same.txt", V2, kind="cached")
    store_file(blobs, "alias.txt", V1)
    before = blobs.files()

    again = BlobStore(tmp_path)

    assert again.files() == before
    assert [s.content_hash for s in again.by_name("same.txt")] == [
        second.content_hash,
        first.content_hash,
    ]
    kinds = {s.content_hash: s.kind for s in again.files()}
    assert kinds == {first.content_hash: "pinned", second.content_hash: "cached"}
    third = store_file(again, "same.txt", data_of(10, seed=3))  # orders go on after a restart
    assert next(s.content_hash for s in again.by_name("same.txt")) == third.content_hash


def test_remove_name_keeps_the_bytes_until_the_last_name_goes(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    manifest = store_file(blobs, "a", V1)
    store_file(blobs, "b", V1)
    content = manifest.content_hash

    assert blobs.remove_name("a", content) is True
    assert blobs.remove_name("a", content) is False
    assert blobs.by_name("a") == []
    assert read_content(blobs, content) == V1
    assert [s.names for s in BlobStore(tmp_path).files()] == [("b",)]

    assert blobs.remove_name("b", content) is True
    assert blobs.files() == []
    assert list(blobs.files_dir.iterdir()) == list(blobs.meta_dir.iterdir()) == []


def test_remove_deletes_a_content_under_every_name(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    manifest = store_file(blobs, "a", V1)
    store_file(blobs, "b", V1)
    kept = store_file(blobs, "a", V2)

    removed = blobs.remove(manifest.content_hash)

    assert removed is not None
    assert removed.names == ("a", "b")
    assert blobs.remove(manifest.content_hash) is None
    assert blobs.by_name("b") == []
    assert [s.content_hash for s in blobs.by_name("a")] == [kept.content_hash]
    assert [s.content_hash for s in BlobStore(tmp_path).files()] == [kept.content_hash]
    assert blobs.usage().pinned_bytes == len(V2)


def test_concurrent_uploads_of_one_content_under_two_names_keep_one_copy(
    tmp_path: Path,
) -> None:
    blobs = BlobStore(tmp_path)
    manifests = [manifest_for(name, V1) for name in ("x", "y", "z")]
    partials = [blobs.incoming(m) for m in manifests]
    for partial, m in zip(partials, manifests, strict=True):
        for i in range(m.pieces):
            partial.write(i, 0, V1[i * PIECE : (i + 1) * PIECE])
            partial.mark_verified(i)
    start = threading.Barrier(len(partials))
    paths: list[Path] = []

    def finish(index: int) -> None:
        start.wait()
        paths.append(partials[index].finish())

    threads = [threading.Thread(target=finish, args=(i,)) for i in range(len(partials))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    (stored,) = blobs.files()
    assert sorted(stored.names) == ["x", "y", "z"]
    assert set(paths) == {stored.path}
    assert read_content(blobs, stored.content_hash) == V1  # the recorded identity is the file's
    assert list(blobs.incoming_dir.iterdir()) == []
    assert blobs.usage().reserved_bytes == 0
