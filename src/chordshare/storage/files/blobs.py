"""The node's store of file bytes it received (uploads) or fetched (downloads), under data_dir.

Layout under ``<data_dir>/blobs``::

    files/<name>                complete, verified files, one per name
    meta/<sha256(name)>.json    the manifest of each and the identity of its data file
    partial/<content>.part      a download being assembled (resumable) ...
    partial/<content>.part.have ... and the log of its verified pieces (both removed once
                                untouched for stale_part_age, at start or by a sweep)
    incoming/<random>.part      an upload being received (never resumed; wiped at start)

Every path is built from a validated name (:func:`chordshare.model.names.path_in`) or from hex
digests, and files are opened without following symlinks, so nothing is read or written outside
these directories. A file enters ``files/`` only complete and verified, by an atomic rename after
an fsync of its data; then its meta is written (fsync, rename, fsync of the directory). A data
file without matching meta (a crash between the two steps) is deleted at start: its holder never
acknowledged it, so the network does not count it.

At start, a stored file whose size, mtime or inode differ from its meta's record is re-hashed
piece by piece against its manifest: kept (and its recorded identity updated) when every piece
matches, dropped with a log line when not. Start-up pays the hashing time of changed files only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from chordshare.errors import IntegrityError, InvalidName, StorageError, TransferError
from chordshare.model.manifest import FileManifest
from chordshare.model.names import path_in, validate_name
from chordshare.storage.files.partial import PartialFile, fsync_dir
from chordshare.storage.files.pieces import FileIdentity, PieceReader, verify_file
from chordshare.storage.files.stale import DEFAULT_STALE_PART_AGE, abandoned, remove_transfer

__all__ = ["BlobStore", "PartialFile", "StoredFile", "fsync_dir"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoredFile:
    manifest: FileManifest
    path: Path
    identity: FileIdentity


class BlobStore:
    """Complete files by name and content hash, plus partial and incoming files.

    Thread-safe: transfers may finish on worker threads. Leftovers of abandoned transfers (see
    :mod:`chordshare.storage.files.stale`) untouched for ``stale_part_age`` seconds of
    ``wall_clock`` are removed at open and by :meth:`sweep_stale`.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        stale_part_age: float = DEFAULT_STALE_PART_AGE,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = data_dir / "blobs"
        self.files_dir = self.root / "files"
        self.meta_dir = self.root / "meta"
        self.partial_dir = self.root / "partial"
        self.incoming_dir = self.root / "incoming"
        self._lock = threading.Lock()
        self._by_name: dict[str, StoredFile] = {}
        self.stale_part_age = stale_part_age
        self.wall_clock = wall_clock
        self._busy: set[str] = set()
        """Transfer keys of the partial and incoming files open now: never swept."""
        try:
            for d in (self.files_dir, self.meta_dir, self.partial_dir, self.incoming_dir):
                d.mkdir(parents=True, exist_ok=True)
            for d in (data_dir, self.root):  # directories just created must survive a power loss
                fsync_dir(d)
            for leftover in self.incoming_dir.iterdir():
                leftover.unlink()
            self.sweep_stale()
            self._load()
        except OSError as exc:
            raise StorageError(f"cannot open the blob store {self.root}: {exc}") from exc

    def _meta_path(self, name: str) -> Path:
        return self.meta_dir / (hashlib.sha256(name.encode("utf-8")).hexdigest() + ".json")

    def _load(self) -> None:
        for leftover in self.meta_dir.glob("*.json.tmp"):  # a meta write a crash interrupted
            leftover.unlink()
        for meta in self.meta_dir.glob("*.json"):
            stored = self._read_meta(meta)
            if stored is None:
                log.warning("dropping unreadable blob meta %s", meta.name)
            else:
                stored = self._checked(stored)
            if stored is None:
                meta.unlink()
            else:
                self._by_name[stored.manifest.name] = stored
        known = {s.path.name for s in self._by_name.values()}
        for data in self.files_dir.iterdir():
            if data.name not in known:
                log.warning("dropping %s: stored without its meta (interrupted)", data.name)
                data.unlink()

    def _read_meta(self, meta: Path) -> StoredFile | None:
        try:
            doc = json.loads(meta.read_text("utf-8"))
            manifest = FileManifest(
                validate_name(doc["name"]),
                int(doc["size"]),
                int(doc["piece_size"]),
                tuple(bytes.fromhex(h) for h in doc["piece_hashes"]),
            )
            identity = FileIdentity(*(int(doc["identity"][k]) for k in ("size", "mtime", "inode")))
            path = path_in(self.files_dir, manifest.name)
        except (OSError, ValueError, KeyError, TypeError, InvalidName):
            return None
        if meta != self._meta_path(manifest.name):
            return None
        return StoredFile(manifest, path, identity)

    def _checked(self, stored: StoredFile) -> StoredFile | None:
        """``stored`` if its data file is still the one recorded; else the file re-hashed
        against its manifest and, when every piece matches, kept under its new identity (a
        copied or restored data_dir changes every inode and often every mtime, and the bytes
        are what counts). None, with a log line, for a file that is missing or no longer
        matches; the caller drops the meta, and a data file left without one is deleted."""
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
        kept = StoredFile(stored.manifest, stored.path, identity)
        self._write_meta(kept)
        log.info(
            "re-verified %s (%d bytes in %.2f s): it changed on disk but its bytes match",
            name,
            stored.manifest.size,
            time.monotonic() - began,
        )
        return kept

    def _write_meta(self, stored: StoredFile) -> None:
        m, ident = stored.manifest, stored.identity
        doc = {
            "name": m.name,
            "size": m.size,
            "piece_size": m.piece_size,
            "piece_hashes": [h.hex() for h in m.piece_hashes],
            "identity": {"size": ident.size, "mtime": ident.mtime_ns, "inode": ident.inode},
        }
        target = self._meta_path(m.name)
        tmp = target.with_name(target.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(doc, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        fsync_dir(self.meta_dir)

    # -- queries --------------------------------------------------------------------------

    def files(self) -> list[StoredFile]:
        with self._lock:
            return sorted(self._by_name.values(), key=lambda s: s.manifest.name)

    def by_name(self, name: str) -> StoredFile | None:
        with self._lock:
            return self._by_name.get(name)

    def by_content(self, content_hash: bytes) -> StoredFile | None:
        with self._lock:
            for stored in self._by_name.values():
                if stored.manifest.content_hash == content_hash:
                    return stored
        return None

    def reader(self, content_hash: bytes) -> PieceReader | None:
        """A reader of the stored file with that content, or None (raises NotFound if it
        vanished or changed on disk)."""
        stored = self.by_content(content_hash)
        if stored is None:
            return None
        return PieceReader.open(stored.path, stored.manifest, stored.identity)

    # -- writing --------------------------------------------------------------------------

    def incoming(self, manifest: FileManifest) -> PartialFile:
        """A fresh, opened file for an upload; it enters the store on ``finish``."""
        path_in(self.files_dir, manifest.name)
        key = secrets.token_hex(16)
        with self._lock:
            self._busy.add(key)
        part = self.incoming_dir / f"{key}.part"
        final = self._final(manifest)
        partial = _StorePartial(self, key, manifest, part, final, self._register, resumable=False)
        partial.open()
        return partial

    def partial(self, manifest: FileManifest) -> PartialFile:
        """A resumable download into the store (not yet opened). One per content at a time:
        a second concurrent download of the same content raises TransferError."""
        final = self._final(manifest)
        key = manifest.content_hash.hex()
        with self._lock:
            if key in self._busy:
                raise TransferError(f"{manifest.name} is already being downloaded here")
            self._busy.add(key)
        part = self.partial_dir / f"{key}.part"
        return _StorePartial(self, key, manifest, part, final, self._register)

    def _final(self, manifest: FileManifest) -> Path:
        return path_in(self.files_dir, manifest.name)

    def _register(self, partial: PartialFile, identity: FileIdentity) -> None:
        stored = StoredFile(partial.manifest, partial.final_path, identity)
        with self._lock:
            try:
                self._write_meta(stored)
            except OSError as exc:
                raise StorageError(f"cannot record {stored.manifest.name}: {exc}") from exc
            self._by_name[stored.manifest.name] = stored

    def _release(self, key: str) -> None:
        with self._lock:
            self._busy.discard(key)

    def sweep_stale(self) -> int:
        """Delete the files of abandoned downloads and uploads (untouched for
        ``stale_part_age``), sparing the transfers open now; how many files were deleted."""
        removed = 0
        now = self.wall_clock()
        for directory in (self.partial_dir, self.incoming_dir):
            for key, paths in abandoned(directory, self.stale_part_age, now).items():
                with self._lock:  # a transfer cannot open its files while they are removed
                    if key not in self._busy:
                        removed += remove_transfer(key, paths, self.stale_part_age)
        return removed

    def remove(self, names: Iterable[str]) -> None:
        for name in names:
            with self._lock:
                stored = self._by_name.pop(name, None)
                if stored is None:
                    continue
                for path in (self._meta_path(name), stored.path):
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()


class _StorePartial(PartialFile):
    """A download or upload into the store; frees its transfer key when closed."""

    def __init__(
        self,
        store: BlobStore,
        key: str,
        manifest: FileManifest,
        part: Path,
        final: Path,
        on_finish: Callable[[PartialFile, FileIdentity], None],
        *,
        resumable: bool = True,
    ) -> None:
        super().__init__(manifest, part, final, resumable=resumable, on_finish=on_finish)
        self._store = store
        self._key = key

    def close(self) -> None:
        super().close()
        self._store._release(self._key)
