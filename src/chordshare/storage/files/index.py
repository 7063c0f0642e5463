"""The index of the shared directory: which files this node shares, and their manifests.

A scan lists the top-level regular files of ``shared_dir`` whose names are valid display names
(:func:`chordshare.model.names.validate_name`); subdirectories, special files and symlinks that
resolve outside ``shared_dir`` are ignored (a symlink to a file inside it is shared under the
link's name). Hashing a large file takes seconds, so manifests are cached in
``<data_dir>/hash_cache.sqlite3`` keyed by name, size, mtime_ns, inode and piece size: an unchanged
file is never rehashed, at a rescan or after a restart.

A scan is blocking filesystem work: a node runs it with ``asyncio.to_thread``. Lookups
(:meth:`SharedIndex.by_content` and friends) read an immutable snapshot and never block.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from chordshare.errors import StorageError
from chordshare.model.manifest import DEFAULT_PIECE_SIZE, DIGEST_SIZE, FileManifest
from chordshare.model.names import name_problem
from chordshare.storage.files.pieces import FileIdentity, PieceReader, hash_file

log = logging.getLogger(__name__)

CACHE_FILE = "hash_cache.sqlite3"

Hasher = Callable[[Path, str, int], FileManifest]
"""``hasher(path, name, piece_size)``: :func:`chordshare.storage.files.pieces.hash_file` or a
counting wrapper in tests."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hashes (
    name TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    piece_size INTEGER NOT NULL,
    piece_hashes BLOB NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class SharedFile:
    """A shared file: its manifest, where it is, and the identity it had when hashed."""

    manifest: FileManifest
    path: Path
    """The file itself (the target, when the directory entry is a symlink)."""
    identity: FileIdentity


@dataclass(frozen=True, slots=True)
class ScanResult:
    files: tuple[SharedFile, ...]
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    hashed: int
    """Files hashed by this scan (the others came from the cache or the previous scan)."""


class SharedIndex:
    """The files of ``shared_dir``, as of the last :meth:`scan`."""

    def __init__(
        self,
        shared_dir: Path,
        data_dir: Path,
        piece_size: int = DEFAULT_PIECE_SIZE,
        *,
        hasher: Hasher = hash_file,
    ) -> None:
        self.shared_dir = shared_dir
        self.cache_path = data_dir / CACHE_FILE
        self.piece_size = piece_size
        self._hasher = hasher
        self._scan_lock = threading.Lock()
        self._by_name: dict[str, SharedFile] = {}
        self._by_content: dict[bytes, SharedFile] = {}

    # -- lookups (snapshots, never block) --------------------------------------------------

    def files(self) -> list[SharedFile]:
        return sorted(self._by_name.values(), key=lambda f: f.manifest.name)

    def by_name(self, name: str) -> SharedFile | None:
        return self._by_name.get(name)

    def by_content(self, content_hash: bytes) -> SharedFile | None:
        return self._by_content.get(content_hash)

    def reader(self, content_hash: bytes) -> PieceReader | None:
        """A reader of the shared file with that content, or None. Raises NotFound if the file
        changed or vanished since the scan (the next scan picks up the change)."""
        shared = self.by_content(content_hash)
        if shared is None:
            return None
        return PieceReader.open(shared.path, shared.manifest, shared.identity)

    # -- scanning ---------------------------------------------------------------------------

    def scan(self) -> ScanResult:
        """Rescan ``shared_dir``; hash only new or changed files. Blocking."""
        with self._scan_lock:
            try:
                root = self.shared_dir.resolve(strict=True)
                entries = self._candidates(root)
                self.cache_path.parent.mkdir(parents=True, exist_ok=True)
                with _Cache(self.cache_path) as cache:
                    found, hashed = self._manifests(entries, cache)
                    cache.keep(found.keys())
            except (OSError, sqlite3.Error) as exc:
                raise StorageError(f"cannot scan {self.shared_dir}: {exc}") from exc
            return self._publish(found, hashed)

    def _candidates(self, root: Path) -> list[tuple[str, Path, FileIdentity]]:
        out: list[tuple[str, Path, FileIdentity]] = []
        with os.scandir(root) as it:
            for entry in it:
                problem = name_problem(entry.name)
                if problem is not None:
                    log.info("not sharing %r: %s", entry.name, problem)
                    continue
                target = Path(entry.path)
                try:
                    if entry.is_symlink():
                        target = Path(os.path.realpath(entry.path))
                        if os.path.commonpath([root, target]) != str(root) or target == root:
                            log.info("not sharing %r: symlink leads outside", entry.name)
                            continue
                        st = target.stat()
                    else:
                        st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue  # vanished or dangling: not shared
                if stat.S_ISREG(st.st_mode):
                    out.append((entry.name, target, FileIdentity.of(st)))
        return out

    def _manifests(
        self, entries: list[tuple[str, Path, FileIdentity]], cache: _Cache
    ) -> tuple[dict[str, SharedFile], int]:
        found: dict[str, SharedFile] = {}
        hashed = 0
        for name, path, identity in entries:
            current = self._by_name.get(name)
            if (
                current is not None
                and current.identity == identity
                and current.path == path
                and current.manifest.piece_size == self.piece_size
            ):
                found[name] = current
                continue
            manifest = cache.get(name, identity, self.piece_size)
            if manifest is None:
                try:
                    manifest = self._hasher(path, name, self.piece_size)
                    after = FileIdentity.of(path.stat())
                except (OSError, StorageError) as exc:
                    log.warning("not sharing %r: %s", name, exc)
                    continue
                hashed += 1
                if after != identity:
                    log.info("not sharing %r yet: it changed while being hashed", name)
                    continue
                cache.put(name, identity, manifest)
            found[name] = SharedFile(manifest, path, identity)
        return found, hashed

    def _publish(self, found: dict[str, SharedFile], hashed: int) -> ScanResult:
        old = self._by_name
        added = tuple(sorted(n for n in found if n not in old))
        changed = tuple(sorted(n for n in found if n in old and found[n] != old[n]))
        removed = tuple(sorted(n for n in old if n not in found))
        self._by_name = found
        self._by_content = {f.manifest.content_hash: f for f in found.values()}
        files = tuple(self.files())
        return ScanResult(files, added, changed, removed, hashed)


class _Cache:
    """The SQLite hash cache (one connection per scan: scans run on worker threads)."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path)
        self._db.execute(_SCHEMA)

    def __enter__(self) -> _Cache:
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        try:
            if kind is None:
                self._db.commit()
        finally:
            self._db.close()

    def get(self, name: str, identity: FileIdentity, piece_size: int) -> FileManifest | None:
        row = self._db.execute(
            "SELECT size, mtime_ns, inode, piece_size, piece_hashes FROM hashes WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None or tuple(row[:4]) != (*_key(identity), piece_size):
            return None
        blob: bytes = row[4]
        digests = tuple(blob[i : i + DIGEST_SIZE] for i in range(0, len(blob), DIGEST_SIZE))
        try:
            return FileManifest(name, identity.size, piece_size, digests)
        except ValueError:
            return None  # a corrupt row: rehash

    def put(self, name: str, identity: FileIdentity, manifest: FileManifest) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?, ?)",
            (name, *_key(identity), manifest.piece_size, b"".join(manifest.piece_hashes)),
        )

    def keep(self, names: Iterable[str]) -> None:
        """Forget every cached file not in ``names``."""
        present = set(names)
        stale = [
            row[0] for row in self._db.execute("SELECT name FROM hashes") if row[0] not in present
        ]
        self._db.executemany("DELETE FROM hashes WHERE name = ?", [(n,) for n in stale])


def _key(identity: FileIdentity) -> tuple[int, int, int]:
    return identity.size, identity.mtime_ns, identity.inode
