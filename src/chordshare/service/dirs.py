"""The node's two directories on disk: ``shared_dir`` (the files it shares) and ``data_dir``
(its own state).

A ``data_dir`` is the node's to create. A ``shared_dir`` is the operator's: a mistyped path
would otherwise be created empty and the node would share nothing without a word, so
``chordshare node`` refuses one that does not exist (:func:`check_shared_dir`) unless the
``create_shared_dir`` setting asks for it, and says so when it creates one.
"""

from __future__ import annotations

import logging
from pathlib import Path

from chordshare.errors import ConfigError

log = logging.getLogger(__name__)

CREATE_HINT = "set create_shared_dir = true (or pass --create-shared-dir) to have it created"


def check_shared_dir(shared_dir: Path, *, create: bool) -> None:
    """Before a node starts: ``shared_dir`` must be a directory, or missing when ``create``
    (:func:`make_dirs` creates it, once the node's logs carry its id). Raises ConfigError
    naming the path and, for a missing one, the setting that creates it."""
    if shared_dir.is_dir():
        return
    if shared_dir.exists() or shared_dir.is_symlink():
        raise ConfigError(_not_a_directory("shared_dir", shared_dir))
    if not create:
        raise ConfigError(f"shared_dir {shared_dir} does not exist; create it, or {CREATE_HINT}")


def make_dirs(**dirs: Path) -> None:
    """Create each directory (and its parents) unless it exists, and log the ones created; the
    keywords name the settings (``shared_dir=...``) for the messages. Raises ConfigError for a
    path that is a file or cannot be created."""
    for setting, directory in dirs.items():
        if directory.is_dir():
            continue
        if directory.exists():
            raise ConfigError(_not_a_directory(setting, directory))
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:  # a parent is a file
            raise ConfigError(
                f"cannot create {setting} {directory}: a parent of it is a file"
            ) from exc
        except OSError as exc:
            raise ConfigError(
                f"cannot create {setting} {directory}: {exc.strerror or exc}"
            ) from exc
        log.info("created %s %s", setting, directory)


def clear_spool(spool: Path) -> None:
    """Uploads a crash interrupted: never resumed (the client got no answer and retries)."""
    if spool.is_dir():
        for leftover in spool.glob("*.upload"):
            leftover.unlink(missing_ok=True)


def _not_a_directory(setting: str, path: Path) -> str:
    if path.is_file():
        return f"{setting} {path} is a file, not a directory"
    return f"{setting} {path} exists and is not a directory"
