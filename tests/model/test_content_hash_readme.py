"""The README's recipe for the content hash of a local file gives what the node computes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from chordshare.storage.files.pieces import hash_file

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_one_liner_matches_the_node(tmp_path: Path) -> None:
    found = re.search(r'`python -c "(.+?)" FILE`', README.read_text())
    assert found, "the README lost its content-hash recipe"
    for size in (0, 1, (1 << 20) - 1, (3 << 20) + 5):
        path = tmp_path / f"f{size}"
        path.write_bytes(os.urandom(size))
        done = subprocess.run(
            [sys.executable, "-c", found.group(1), str(path)],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        assert done.stdout.strip() == hash_file(path, path.name).content_hash.hex(), size
