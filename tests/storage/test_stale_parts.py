"""Leftovers of abandoned transfers in the blob store (partial downloads, received uploads that
never finished) are removed at start and by a periodic sweep once untouched for the configured
age; a transfer in progress is never touched, however old its files, and a download younger
than the age stays to be resumed."""

from __future__ import annotations

import os
from pathlib import Path

from chordshare.storage.files.blobs import BlobStore
from chordshare.storage.files.stale import abandoned, transfer_key

from .helpers import PIECE, data_of, data_path, manifest_for, store_file

DAY = 86_400.0
NOW = 1_700_000_000.0
"""Wall-clock seconds the tests pretend it is (mtimes are set relative to it)."""

CONTENT = data_of(3 * PIECE)
MANIFEST = manifest_for("movie.mkv", CONTENT)


class WallClock:
    """A wall clock that moves only when told to."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def age(path: Path, seconds: float, now: float = NOW) -> None:
    """Make ``path`` look last modified ``seconds`` before ``now``."""
    os.utime(path, (now - seconds, now - seconds))


def half_download(blobs: BlobStore, content: bytes = CONTENT) -> list[Path]:
    """A download into the store with its first piece written and logged, then interrupted; its
    files (the data and the log of verified pieces)."""
    manifest = manifest_for("movie.mkv", content)
    partial = blobs.partial(manifest)
    partial.open()
    partial.write(0, 0, content[:PIECE])
    partial.mark_verified(0)
    partial.close()
    return [partial.part_path, partial.sidecar_path]


def test_files_of_one_transfer_share_a_key() -> None:
    hexa = "ab" * 32
    keys = {transfer_key(Path(f"{hexa}{s}")) for s in (".part", ".part.have", ".part.have.tmp")}
    assert keys == {hexa}


def test_stale_partial_downloads_are_removed_at_start(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path, stale_part_age=DAY, wall_clock=WallClock())
    old = half_download(blobs)
    young = half_download(blobs, data_of(3 * PIECE, seed=7))
    for path in old:
        age(path, DAY + 1)
    for path in young:
        age(path, DAY - 60)
    torn = blobs.partial_dir / ("cd" * 32 + ".part.have.tmp")  # a log rewrite cut short
    torn.write_bytes(b"")
    age(torn, 2 * DAY)

    again = BlobStore(tmp_path, stale_part_age=DAY, wall_clock=WallClock())

    assert sorted(again.partial_dir.iterdir()) == sorted(young)
    resumed = again.partial(manifest_for("movie.mkv", data_of(3 * PIECE, seed=7)))
    assert resumed.open() == {0}  # what was verified is still there to resume from
    resumed.close()


def test_a_download_is_as_old_as_its_newest_file(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path, stale_part_age=DAY, wall_clock=WallClock())
    part, log = half_download(blobs)
    age(part, 3 * DAY)
    age(log, DAY - 60)  # a piece was logged recently: the download is not abandoned

    assert blobs.sweep_stale() == 0
    assert part.exists()
    assert log.exists()
    assert abandoned(blobs.partial_dir, DAY, NOW) == {}


def test_the_sweep_removes_what_the_clock_made_stale(tmp_path: Path) -> None:
    clock = WallClock()
    blobs = BlobStore(tmp_path, stale_part_age=DAY, wall_clock=clock)
    files = half_download(blobs)
    for path in files:
        age(path, 0)
    leftover = blobs.incoming_dir / ("ef" * 16 + ".part")  # an upload its receiver lost
    leftover.write_bytes(b"half an upload")
    age(leftover, 0)

    assert blobs.sweep_stale() == 0
    clock.now += DAY - 1
    assert blobs.sweep_stale() == 0
    clock.now += 2

    assert blobs.sweep_stale() == 3
    assert list(blobs.partial_dir.iterdir()) == []
    assert list(blobs.incoming_dir.iterdir()) == []


def test_the_sweep_spares_transfers_in_progress(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path, stale_part_age=DAY, wall_clock=WallClock())
    download = blobs.partial(MANIFEST)
    download.open()
    upload = blobs.incoming(manifest_for("up.bin", CONTENT))
    for path in (download.part_path, download.sidecar_path, upload.part_path):
        age(path, 10 * DAY)  # stalled for days, but still open

    assert blobs.sweep_stale() == 0

    for i in range(MANIFEST.pieces):
        upload.write(i, 0, CONTENT[i * PIECE : (i + 1) * PIECE])
        upload.mark_verified(i)
    upload.finish()
    assert blobs.latest("up.bin") is not None
    download.close()  # interrupted: now it is an abandoned download like any other
    assert blobs.sweep_stale() == 2
    assert list(blobs.partial_dir.iterdir()) == []


def test_received_uploads_are_wiped_at_start_whatever_their_age(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path, stale_part_age=DAY, wall_clock=WallClock())
    upload = blobs.incoming(MANIFEST)
    upload.write(0, 0, CONTENT[:PIECE])
    age(upload.part_path, 1)  # a second old: an upload is never resumed after a restart

    again = BlobStore(tmp_path, stale_part_age=DAY, wall_clock=WallClock())

    assert list(again.incoming_dir.iterdir()) == []


def test_directories_and_stored_files_are_never_swept(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path, stale_part_age=DAY, wall_clock=WallClock())
    (blobs.partial_dir / "sub").mkdir()
    age(blobs.partial_dir / "sub", 3 * DAY)
    age(data_path(blobs, store_file(blobs, "kept", CONTENT)), 3 * DAY)

    assert blobs.sweep_stale() == 0
    assert (blobs.partial_dir / "sub").is_dir()
    assert blobs.latest("kept") is not None
