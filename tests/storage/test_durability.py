"""An acknowledgement means fsynced (DESIGN.md §5): the record store commits with SQLite's
WAL journal and ``synchronous = FULL``; the blob store fsyncs a stored file's data, the directory
it was renamed into, its meta and the meta directory before the file counts as stored (before
an upload is acknowledged), and the directories it creates."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chordshare.ring import IdSpace
from chordshare.storage.files.blobs import BlobStore
from chordshare.storage.records.sql import SqliteRecords
from chordshare.storage.records.store import RecordStore

from .helpers import PIECE, data_of, data_path, manifest_for

SYNCHRONOUS_FULL = 2
"""What ``PRAGMA synchronous`` reads for FULL (NORMAL is 1)."""


def test_the_record_store_commits_with_wal_and_synchronous_full(tmp_path: Path) -> None:
    core = SqliteRecords(tmp_path / "records.sqlite3", IdSpace(32))
    try:
        assert core.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert core.db.execute("PRAGMA synchronous").fetchone()[0] == SYNCHRONOUS_FULL
    finally:
        core.close()


async def test_the_store_a_node_opens_is_synchronous_full(tmp_path: Path) -> None:
    store = await RecordStore.open(tmp_path, IdSpace(32))
    try:
        level = await store._run(lambda: store._core.db.execute("PRAGMA synchronous").fetchone())
        assert level[0] == SYNCHRONOUS_FULL
    finally:
        await store.close()


class Syncs:
    """Records, in order, the fsyncs (by path) and renames the code under test makes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events: list[tuple[str, str]] = []
        real_fsync, real_replace = os.fsync, os.replace

        def fsync(fd: int) -> None:
            self.events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
            real_fsync(fd)

        def replace(src: str | Path, dst: str | Path) -> None:
            self.events.append(("replace", str(dst)))
            real_replace(src, dst)

        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "replace", replace)

    def index(self, event: tuple[str, str | Path]) -> int:
        return self.events.index((event[0], str(event[1])))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name fds")
def test_a_stored_file_is_fsynced_before_it_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blobs = BlobStore(tmp_path)
    content = data_of(2 * PIECE + 1)
    manifest = manifest_for("f.bin", content)
    partial = blobs.incoming(manifest)
    for i in range(manifest.pieces):
        partial.write(i, 0, content[i * PIECE : (i + 1) * PIECE])
        partial.mark_verified(i)
    syncs = Syncs(monkeypatch)
    counted: list[list[tuple[str, str]]] = []
    real_register = blobs._register

    def register(*args: object) -> None:
        real_register(*args)  # type: ignore[arg-type]
        counted.append(list(syncs.events))

    partial._on_finish = register
    partial.finish()

    data, final = str(partial.part_path), data_path(blobs, manifest)
    (meta,) = blobs.meta_dir.glob("*.json")
    order = [
        syncs.index(("fsync", data)),  # the data, under its partial name
        syncs.index(("replace", final)),  # renamed into place
        syncs.index(("fsync", blobs.files_dir)),  # the rename made durable
        syncs.index(("replace", meta)),  # then the meta (its tmp file fsynced before)
        syncs.index(("fsync", blobs.meta_dir)),
    ]
    assert order == sorted(order)
    assert ("fsync", str(meta) + ".tmp") in syncs.events[: order[3]]
    assert counted == [syncs.events]  # all of it before the file counts as stored
    assert blobs.latest("f.bin") is not None


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name fds")
def test_the_directories_of_a_new_blob_store_are_made_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    syncs = Syncs(monkeypatch)
    data_dir = tmp_path / "data"
    data_dir.mkdir()

    BlobStore(data_dir)

    synced = {path for kind, path in syncs.events if kind == "fsync"}
    assert {str(data_dir), str(data_dir / "blobs")} <= synced
