"""What a blob store keeps when it opens: every meta checked against its data file.

* a meta whose data file still has the recorded size, mtime and inode is kept as it is;
* one whose data file changed is re-hashed piece by piece against its manifest: kept (and its
  recorded identity updated) when every piece matches, dropped with a log line when not (a
  copied or restored data_dir changes every inode and often every mtime, and the bytes are what
  counts), so start-up pays the hashing time of changed files only;
* an unreadable meta, or one whose data file is missing, is dropped with a log line;
* a meta of the earlier by-name layout is dropped with its data file, with one warning line for
  all of them (see :mod:`chordshare.storage.files.blobs` for why they are not migrated);
* a data file left without a meta (a crash between storing it and recording it) is deleted.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from pathlib import Path
from typing import Any

from chordshare.errors import IntegrityError, StorageError
from chordshare.model.names import path_in, validate_name
from chordshare.storage.files.pieces import FileIdentity, verify_file
from chordshare.storage.files.stored import (
    CONTENT_HEX,
    StoredFile,
    meta_doc,
    old_layout,
    parse_meta,
    write_durably,
)

log = logging.getLogger("chordshare.storage.files.blobs")
"""The store's logger: these lines are the blob store's to an operator."""


def recover(files_dir: Path, meta_dir: Path) -> list[tuple[StoredFile, float]]:
    """The stored files to keep, each with its last use; deletes what is not kept. Raises
    OSError."""
    for leftover in meta_dir.glob("*.json.tmp"):  # a meta write a crash interrupted
        leftover.unlink()
    kept: list[tuple[StoredFile, float]] = []
    old = 0
    for meta in sorted(meta_dir.glob("*.json")):
        try:
            doc = json.loads(meta.read_text("utf-8"))
        except (OSError, ValueError):
            doc = None
        if old_layout(doc):
            old += 1
            _drop_old(files_dir, doc)
        elif (loaded := _read(meta, doc, files_dir)) is None:
            log.warning("dropping unreadable blob meta %s", meta.name)
        elif (stored := _checked(*loaded, meta_dir)) is not None:
            kept.append((stored, loaded[1]))
            continue
        meta.unlink()
    if old:
        log.warning(
            "dropped %d file(s) of the blob store's earlier by-name layout: bytes are now kept "
            "by content hash, and their manifests predate the content hash in use",
            old,
        )
    known = {stored.path.name for stored, _ in kept}
    for data in files_dir.iterdir():
        if data.name not in known:
            log.warning("dropping %s: stored without its meta (interrupted)", data.name)
            data.unlink()
    return kept


def _drop_old(files_dir: Path, doc: dict[str, Any]) -> None:
    with contextlib.suppress(Exception):  # a damaged old meta: its data file is an orphan
        name = validate_name(str(doc["name"]))
        if not CONTENT_HEX.fullmatch(name):  # never a file of the current layout
            path_in(files_dir, name).unlink(missing_ok=True)


def _read(meta: Path, doc: Any, files_dir: Path) -> tuple[StoredFile, float] | None:
    try:
        return parse_meta(doc, meta.name.removesuffix(".json"), files_dir)
    except (ValueError, KeyError, TypeError, AttributeError):  # InvalidName is a ValueError
        return None


def _checked(stored: StoredFile, used: float, meta_dir: Path) -> StoredFile | None:
    """``stored``, re-verified under a new identity if its data file changed; None (with a
    log line, the data file deleted) if it is missing or no longer matches."""
    name = stored.manifest.name
    try:
        if FileIdentity.of(stored.path.lstat()) == stored.identity:
            return stored
    except FileNotFoundError:
        log.warning("dropping %s: its data file is missing", name)
        return None
    began = time.monotonic()
    try:
        identity = verify_file(stored.path, stored.manifest)
    except (IntegrityError, StorageError) as exc:
        log.warning("dropping %s: it changed on disk and no longer matches (%s)", name, exc)
        with contextlib.suppress(FileNotFoundError):
            stored.path.unlink()
        return None
    kept = StoredFile(stored.manifest, stored.path, identity, stored.kind, stored.named)
    write_durably(meta_dir / f"{stored.path.name}.json", meta_doc(kept, used))
    log.info(
        "re-verified %s (%d bytes in %.2f s): it changed on disk but its bytes match",
        name,
        stored.manifest.size,
        time.monotonic() - began,
    )
    return kept
