"""A file dropped into a running node's shared_dir is found from another node within seconds:
the watcher rescans on change, long before the periodic rescan (set to an hour here, so only
the watcher can explain it); its removal is withdrawn the same way. Both are logged."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chordshare.cli.launcher import LocalCluster, NotYet, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e"), pytest.mark.timeout(180)]

HOUR = 3600.0
FOUND_WITHIN = 20.0
"""Seconds to wait for the name: generous on two loaded cores, and far below HOUR."""


def test_a_copied_file_is_findable_at_once_and_its_removal_withdrawn(
    process_cluster: LocalCluster, tmp_path: Path
) -> None:
    cluster = process_cluster
    sharer = cluster.start(rescan_interval=HOUR)
    cluster.wait_ready([sharer], 60)
    reader = cluster.start([sharer], rescan_interval=HOUR)
    cluster.wait_ready([reader], 60)
    source = tmp_path / "notes.txt"
    source.write_bytes(b"published the moment it lands\n" * 1000)
    shared = cluster.workdir / sharer.name / "shared"
    shutil.copy(source, shared / "notes.txt")

    def providers() -> int:
        """Live providers of notes.txt the reader finds (0 when the name is unknown)."""
        answer = cluster.http.get(f"{reader.url}/api/v1/network/files/notes.txt")
        if answer.status_code == 404:
            return 0
        answer.raise_for_status()
        return sum(len(r["providers"]) for r in answer.json()["records"])

    def logged(line: str) -> bool | None:
        return True if line in sharer.log_path.read_text() else None

    def found() -> bool:
        if providers() == 0:
            raise NotYet("not found yet")
        return True

    wait_until(found, FOUND_WITHIN, "notes.txt found from the reader")
    # Logged once the publish returns, which may be just after the reader saw the record.
    wait_until(lambda: logged("published notes.txt"), 10, "the publish logged")

    (shared / "notes.txt").unlink()
    wait_until(lambda: providers() == 0 or None, FOUND_WITHIN, "notes.txt withdrawn")
    wait_until(lambda: logged("withdrew notes.txt"), 10, "the withdrawal logged")
