"""``chordshare demo``'s file part, as a user runs it (a smaller ring than the default, to keep
the run short; ``tests/e2e/test_node_process.py`` runs the default demo)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from chordshare.cli.launcher import LocalCluster
from tests.e2e.files_helpers import cli_env

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e"), pytest.mark.timeout(240)]


def test_demo_shares_finds_downloads_and_verifies_a_file(process_cluster: LocalCluster) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "chordshare.cli.main", "demo", "--nodes", "5"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=process_cluster.workdir,
        env=cli_env(),
    )
    out = done.stdout
    print(out[-4000:])
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    assert "holiday-video.mkv (6.0 MiB) is in node00's shared directory" in out
    assert "holiday-video.mkv: 6.0 MiB in 24 pieces of 256.0 KiB" in out
    assert "stored: 6.0 MiB" in out
    assert "3 holders" in out
    table = out[out.index("pieces per provider") : out.index("SHA-256 of the original")]
    served = re.findall(r"│ [0-9a-f]{8} │ 127\.0\.0\.\d+:\d+ │\s+(\d+) │", table)
    assert len(served) >= 3, "pieces from at least three providers"
    assert sum(int(n) for n in served) == 24
    assert re.search(r"SHA-256 of the copy +[0-9a-f]{64}  identical", out)
    assert "4 nodes left the ring and exited with status 0" in out
