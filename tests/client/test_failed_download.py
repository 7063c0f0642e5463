"""A download that cannot complete says what it left behind: nothing when no piece was
verified (a ``.part`` that can never complete is removed), the partial file and how to resume
when some were."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from chordshare.api.schemas.files import FileRecordView
from chordshare.client.download import Progressed, failed_download, fetch
from chordshare.errors import ChordshareError, PeerUnavailable, TransferError
from chordshare.model.manifest import Provider
from chordshare.ring import IdSpace
from tests.records.factory import record

SPACE = IdSpace(160)


def test_a_download_with_no_live_provider_leaves_no_part_file(tmp_path: Path) -> None:
    with socket.socket() as holder:  # keeps the port bound (refusing) for the whole download
        holder.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{holder.getsockname()[1]}"
        rec = record("gone.bin", Provider(7, address, "", 2e9), pieces=3)
        dest = tmp_path / "gone.bin"
        with pytest.raises(ChordshareError, match="nothing was saved"):
            fetch(FileRecordView.of(SPACE, rec), dest)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_failure_after_verified_pieces_keeps_them_and_says_how_to_resume(
    tmp_path: Path,
) -> None:
    dest = tmp_path / "half.bin"
    seen = Progressed(done=3 << 20, total=8 << 20)
    error = failed_download(TransferError("no provider left for half.bin"), dest, seen)
    assert isinstance(error, TransferError)
    assert str(error).startswith("no provider left for half.bin; ")
    assert f"3.0 MiB of 8.0 MiB verified and kept in {dest}.part" in str(error)
    assert "run the same command again" in str(error)


def test_the_error_keeps_its_type_and_cause(tmp_path: Path) -> None:
    cause = PeerUnavailable("Download to x failed: UNAVAILABLE")
    error = failed_download(cause, tmp_path / "f", Progressed(done=0, total=1 << 20))
    assert type(error) is PeerUnavailable
    assert "nothing was saved" in str(error)


def test_a_download_that_never_started_is_reported_as_it_failed(tmp_path: Path) -> None:
    """Nothing was reported, so nothing is known about a partial file of an earlier run: it is
    neither removed nor described."""
    cause = TransferError("cannot open the partial file")
    assert failed_download(cause, tmp_path / "f", Progressed()) is cause
