"""Leftovers of abandoned transfers under data_dir, and when they count as abandoned.

A transfer leaves files named after it: a download ``<content>.part`` with its log of verified
pieces ``<content>.part.have`` (and ``.have.tmp`` while that log is rewritten), a received
upload ``<random>.part``, a REST upload's spool ``<random>.upload``. Every file of one transfer
shares the name's first dot-separated part, its *key*. A transfer is abandoned when its newest
file was last modified more than the configured age ago: a live transfer writes (or logs) as it
goes, while an interrupted download that nobody asks for again would hold its disk forever.
The callers also spare the keys of transfers in progress, however old their files.

Ages compare file mtimes with a wall clock (mtimes are wall-clock times), injected by the
callers so that tests move it by hand.
"""

from __future__ import annotations

import logging
import stat
from collections.abc import Container
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_STALE_PART_AGE = 24 * 3600.0
"""Seconds: see ``NodeConfig.stale_part_age``."""


def transfer_key(path: Path) -> str:
    """The transfer ``path`` belongs to: its name up to the first dot."""
    return path.name.split(".", 1)[0]


def abandoned(directory: Path, max_age: float, now: float) -> dict[str, list[Path]]:
    """The files of ``directory``, by transfer key, of every transfer whose newest file was last
    modified more than ``max_age`` seconds before ``now``. Only regular files and symlinks
    count (a symlink is removed itself, never followed); a missing directory has none."""
    files: dict[str, list[Path]] = {}
    newest: dict[str, float] = {}
    try:
        entries = list(directory.iterdir())
    except FileNotFoundError:
        return {}
    for path in entries:
        try:
            st = path.lstat()
        except FileNotFoundError:  # removed meanwhile (its transfer finished)
            continue
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            continue
        key = transfer_key(path)
        files.setdefault(key, []).append(path)
        newest[key] = max(newest.get(key, st.st_mtime), st.st_mtime)
    cutoff = now - max_age
    return {key: paths for key, paths in files.items() if newest[key] <= cutoff}


def remove_transfer(key: str, paths: list[Path], max_age: float) -> int:
    """Delete the files of one abandoned transfer (with a log line); how many were deleted."""
    removed = 0
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed += 1
    if removed:
        log.info(
            "removed %d file(s) of abandoned transfer %s in %s (untouched for over %.0f s)",
            removed,
            key,
            paths[0].parent,
            max_age,
        )
    return removed


def remove_abandoned(directory: Path, max_age: float, now: float, busy: Container[str]) -> int:
    """Delete the files of every abandoned transfer in ``directory`` whose key is not in
    ``busy``; how many files were deleted."""
    return sum(
        remove_transfer(key, paths, max_age)
        for key, paths in abandoned(directory, max_age, now).items()
        if key not in busy
    )
