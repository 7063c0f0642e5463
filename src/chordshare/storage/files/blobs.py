"""The node's store of file bytes it received (uploads) or fetched (downloads), under data_dir.

Bytes are kept by content hash, never by name (DESIGN.md §5): a name is an index entry pointing
at one or more contents, so two files stored under one name never touch each other, and one
content stored under two names is one copy of its bytes. Layout under ``<data_dir>/blobs``::

    files/<content hex>         complete, verified files, one per content
    meta/<content hex>.json     the manifest of each, its names, kind, last use and the
                                identity of its data file (see :mod:`.stored`)
    partial/<content>.part      a download being assembled (resumable) ...
    partial/<content>.part.have ... and the log of its verified pieces (both removed once
                                untouched for stale_part_age, at start or by a sweep)
    incoming/<random>.part      an upload being received (never resumed; wiped at start)

Every path is built from validated hex digests, and files are opened without following
symlinks, so nothing is read or written outside these directories. A file enters ``files/`` only
complete and verified, by an atomic rename after an fsync of its data; then its meta is written
(fsync, rename, fsync of the directory). A data file without matching meta (a crash between the
two steps) is deleted at start: its holder never acknowledged it, so the network does not count
it. A content already held is never written again: a second copy arriving (another name, a
pinned copy of a cached file) only adds its name and kind to the meta.

At start, a stored file whose size, mtime or inode differ from its meta's record is re-hashed
piece by piece against its manifest: kept (and its recorded identity updated) when every piece
matches, dropped with a log line when not. Start-up pays the hashing time of changed files only.

The earlier by-name layout (``files/<name>``, meta named by the SHA-256 of the name) is not
migrated: its files are dropped at start with one warning line saying how many. The release that
changed the layout also changed the content hash function, so their manifests would not verify.

Quotas: ``pinned_quota`` bounds pinned bytes, counting those reserved by uploads in flight (an
upload that does not fit is refused with LimitExceeded before any byte is written);
``cache_quota`` bounds cached bytes: adding a cached file evicts the least recently used cached
files (never a pinned one, never one being read through :meth:`BlobStore.reader`) until the
rest fits. Last use is kept in memory on every read and written to the metas by
:meth:`BlobStore.flush_used`, which :meth:`BlobStore.sweep_stale` calls (a node sweeps at least
hourly) and with any other write of a file's meta: a crash forgets at most the reads since the
last sweep, which only shifts the eviction order.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

from chordshare.errors import NotFound, StorageError, TransferError
from chordshare.model.manifest import FileManifest
from chordshare.model.names import validate_name
from chordshare.storage.files.catalog import Catalog, Usage
from chordshare.storage.files.handles import Hooks, StorePartial, StoreReader
from chordshare.storage.files.partial import PartialFile, fsync_dir
from chordshare.storage.files.pieces import FileIdentity, PieceReader
from chordshare.storage.files.recovery import recover
from chordshare.storage.files.stale import DEFAULT_STALE_PART_AGE, abandoned, remove_transfer
from chordshare.storage.files.stored import Kind, StoredFile, content_hex, meta_doc, write_durably

__all__ = ["BlobStore", "Kind", "PartialFile", "StoredFile", "Usage", "fsync_dir"]

log = logging.getLogger(__name__)


class BlobStore:
    """Complete files by content hash (and the names they are stored under), plus partial and
    incoming files.

    Thread-safe: transfers may finish on worker threads. ``_lock`` guards the in-memory
    :class:`Catalog` (queries take only it); ``_disk`` serialises every change of ``files/`` and
    ``meta/`` and is always taken before ``_lock``. Leftovers of abandoned transfers (see
    :mod:`chordshare.storage.files.stale`) untouched for ``stale_part_age`` seconds of
    ``wall_clock`` are removed at open and by :meth:`sweep_stale`.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        pinned_quota: int | None = None,
        cache_quota: int | None = None,
        stale_part_age: float = DEFAULT_STALE_PART_AGE,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = data_dir / "blobs"
        self._evicted: list[StoredFile] = []
        self.files_dir = self.root / "files"
        self.meta_dir = self.root / "meta"
        self.partial_dir = self.root / "partial"
        self.incoming_dir = self.root / "incoming"
        self.stale_part_age = stale_part_age
        self.wall_clock = wall_clock
        self._lock = threading.Lock()
        self._disk = threading.Lock()
        self._cat = Catalog(pinned_quota, cache_quota)
        self._busy: set[str] = set()
        """Transfer keys of the partial and incoming files open now: never swept."""
        self._hooks = Hooks(self._finish, self._register, self._release)
        try:
            for d in (self.files_dir, self.meta_dir, self.partial_dir, self.incoming_dir):
                d.mkdir(parents=True, exist_ok=True)
            for d in (data_dir, self.root):  # directories just created must survive a power loss
                fsync_dir(d)
            for leftover in self.incoming_dir.iterdir():
                leftover.unlink()
            self.sweep_stale()
            with self._disk:
                for stored, used in recover(self.files_dir, self.meta_dir):
                    self._cat.put(stored, used)
                    self._cat.recorded[stored.content_hash.hex()] = used
                self._evict()  # the cache quota may have shrunk since the last run
        except OSError as exc:
            raise StorageError(f"cannot open the blob store {self.root}: {exc}") from exc

    @property
    def pinned_quota(self) -> int | None:
        return self._cat.pinned_quota

    @property
    def cache_quota(self) -> int | None:
        return self._cat.cache_quota

    # -- queries --------------------------------------------------------------------------

    def files(self) -> list[StoredFile]:
        with self._lock:
            stored = list(self._cat.files.values())
        return sorted(stored, key=lambda s: (s.manifest.name, s.content_hash))

    def by_name(self, name: str) -> list[StoredFile]:
        """Every content stored under ``name``, the most recently stored first."""
        with self._lock:
            return self._cat.by_name(name)

    def latest(self, name: str) -> StoredFile | None:
        """The content stored under ``name`` most recently, or None."""
        found = self.by_name(name)
        return found[0] if found else None

    def by_content(self, content_hash: bytes) -> StoredFile | None:
        with self._lock:
            return self._cat.files.get(content_hash.hex())

    def usage(self) -> Usage:
        with self._lock:
            return self._cat.usage()

    def last_used(self, content_hash: bytes) -> float | None:
        """Wall-clock time the content was stored or last read, or None if not held."""
        with self._lock:
            return self._cat.used.get(content_hash.hex())

    def touch(self, content_hash: bytes) -> bool:
        """Count a read of the content (in memory; see the module docstring); whether held."""
        key = content_hash.hex()
        now = self.wall_clock()
        with self._lock:
            if key not in self._cat.files:
                return False
            self._cat.used[key] = now
            return True

    def reader(self, content_hash: bytes) -> PieceReader | None:
        """A reader of the stored file with that content, or None (raises NotFound if it
        vanished or changed on disk). Counts as a use; not evicted until the reader closes."""
        key = content_hash.hex()
        now = self.wall_clock()
        with self._lock:
            stored = self._cat.files.get(key)
            if stored is None:
                return None
            self._cat.used[key] = now
            self._cat.reading[key] += 1
        done = functools.partial(self._done_reading, key)
        try:
            plain = PieceReader.open(stored.path, stored.manifest, stored.identity)
        except BaseException:
            done()
            raise
        reader = StoreReader(plain.fd, stored.manifest, done)
        plain.fd = -1  # the descriptor now belongs to ``reader``
        return reader

    def _done_reading(self, key: str) -> None:
        with self._lock:
            self._cat.reading[key] -= 1
            if self._cat.reading[key] <= 0:
                del self._cat.reading[key]

    # -- writing --------------------------------------------------------------------------

    def incoming(self, manifest: FileManifest, kind: Kind = "pinned") -> PartialFile:
        """A fresh, opened file for an upload; it enters the store on ``finish``. Raises
        LimitExceeded, before anything is written, for a pinned file over ``pinned_quota``."""
        validate_name(manifest.name)
        key = secrets.token_hex(16)
        with self._lock:
            self._cat.admit(manifest, kind, key)
            self._busy.add(key)
        part = self.incoming_dir / f"{key}.part"
        partial = StorePartial(
            self._hooks, key, manifest, part, self._final(manifest), kind, resumable=False
        )
        partial.open()
        return partial

    def partial(self, manifest: FileManifest, kind: Kind = "cached") -> PartialFile:
        """A resumable download into the store (not yet opened). One per content at a time:
        a second concurrent download of the same content raises TransferError. A content
        already held needs no byte: the file opens complete and ``finish`` adds the name.
        Raises LimitExceeded for a file over its kind's quota (cached: larger than it)."""
        validate_name(manifest.name)
        key = content_hex(manifest.content_hash)
        with self._lock:
            if key in self._busy:
                raise TransferError(f"{manifest.name} is already being downloaded here")
            held = self._cat.admit(manifest, kind, key)
            self._busy.add(key)
        part = self.partial_dir / f"{key}.part"
        final = self._final(manifest)
        return StorePartial(self._hooks, key, manifest, part, final, kind, held=held)

    def _final(self, manifest: FileManifest) -> Path:
        return self.files_dir / content_hex(manifest.content_hash)

    def pin(self, manifest: FileManifest) -> StoredFile:
        """Keep a content held here as pinned, under ``manifest.name`` too (a repair making this
        node a holder of a file it has cached); raises NotFound if the content is not held, and
        LimitExceeded if a cached one does not fit ``pinned_quota``."""
        validate_name(manifest.name)
        key = secrets.token_hex(16)
        with self._disk:
            held = self.by_content(manifest.content_hash)
            if held is None:
                raise NotFound(f"{manifest.name}: no such content here to pin")
            try:
                with self._lock:
                    self._cat.admit(manifest, "pinned", key)
                    stored = held.with_name(manifest.name, self._cat.next_order(), "pinned")
                self._record(stored, key)
            finally:
                with self._lock:
                    self._cat.unreserve(key)
        return stored

    def _finish(self, partial: StorePartial) -> Path:
        """Enter a complete ``partial`` into the store: renamed into ``files/`` with a new
        meta, or, for a content held meanwhile, its copy dropped and its name added."""
        try:
            with self._disk:
                held = self.by_content(partial.manifest.content_hash)
                if held is None and partial.held:
                    raise TransferError(f"{partial.manifest.name} was removed while it was added")
                if held is None:
                    return PartialFile.finish(partial)  # on_finish: _register
                partial.discard()
                with self._lock:
                    stored = held.with_name(
                        partial.manifest.name, self._cat.next_order(), partial.kind
                    )
                self._record(stored, partial.key)
                return held.path
        finally:
            with self._lock:
                self._cat.unreserve(partial.key)

    def _register(self, partial: PartialFile, identity: FileIdentity) -> None:
        """A new content renamed into place: record it (the caller holds _disk)."""
        assert isinstance(partial, StorePartial)
        m = partial.manifest
        with self._lock:
            named = ((m.name, self._cat.next_order()),)
        self._record(StoredFile(m, partial.final_path, identity, partial.kind, named), partial.key)
        self._evict(spare=m.content_hash.hex())

    def _record(self, stored: StoredFile, transfer: str) -> None:
        """Write the meta of ``stored`` (used now) and index it in place of what was there,
        releasing ``transfer``'s reservation at the same time; the caller holds _disk."""
        now = self.wall_clock()
        self._write_meta(stored, now)
        with self._lock:
            self._cat.unreserve(transfer)
            self._cat.put(stored, now)

    def _write_meta(self, stored: StoredFile, used: float) -> None:
        key = stored.content_hash.hex()
        try:
            write_durably(self.meta_dir / f"{key}.json", meta_doc(stored, used))
        except OSError as exc:
            raise StorageError(f"cannot record {stored.manifest.name}: {exc}") from exc
        with self._lock:
            self._cat.recorded[key] = used

    def _release(self, key: str, reservation: bool) -> None:
        with self._lock:
            self._busy.discard(key)
            if reservation:
                self._cat.unreserve(key)

    # -- removal --------------------------------------------------------------------------

    def remove(self, content_hash: bytes) -> StoredFile | None:
        """Delete a content under all its names; what was removed, or None if not held."""
        with self._disk:
            return self._delete(content_hash.hex())

    def remove_name(self, name: str, content_hash: bytes) -> bool:
        """Drop ``name`` from a content (deleting the bytes with its last name); whether the
        content was held under that name."""
        key = content_hash.hex()
        with self._disk:
            held = self.by_content(content_hash)
            if held is None or name not in held.names:
                return False
            if held.names == (name,):
                self._delete(key)
                return True
            stored = held.without_name(name)
            with self._lock:
                used = self._cat.used[key]
            self._write_meta(stored, used)
            with self._lock:
                self._cat.put(stored, used)
            return True

    def _delete(self, key: str) -> StoredFile | None:
        """Forget a content and delete its meta, then its bytes (a crash in between leaves a
        data file without meta, deleted at start); the caller holds _disk."""
        with self._lock:
            stored = self._cat.pop(key)
        if stored is not None:
            for path in (self.meta_dir / f"{key}.json", stored.path):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        return stored

    def _evict(self, spare: str | None = None) -> None:
        """Evict least recently used cached files until the cached bytes fit the quota,
        sparing those being read and ``spare``; the caller holds _disk."""
        with self._lock:
            victims = self._cat.victims(spare)
        for key in victims:
            stored = self._delete(key)
            if stored is not None:
                with self._lock:
                    self._evicted.append(stored)
                log.info(
                    "evicted cached %s (%s, %d bytes): over the cache quota of %s bytes",
                    stored.manifest.name,
                    key[:16],
                    stored.manifest.size,
                    self.cache_quota,
                )

    def take_evicted(self) -> list[StoredFile]:
        """The cached files evicted since the last call (and forget them): their node should
        withdraw its provider entries for them."""
        with self._lock:
            evicted, self._evicted = self._evicted, []
        return evicted

    # -- maintenance ----------------------------------------------------------------------

    def flush_used(self) -> int:
        """Write the last uses known in memory that their metas do not have yet; how many."""
        with self._disk:
            with self._lock:
                stale = self._cat.stale_uses()
            for stored, used in stale:
                self._write_meta(stored, used)
        return len(stale)

    def sweep_stale(self) -> int:
        """Delete the files of abandoned downloads and uploads (untouched for
        ``stale_part_age``), sparing the transfers open now; how many files were deleted.
        Also writes the last uses read since the previous sweep (:meth:`flush_used`)."""
        removed = 0
        now = self.wall_clock()
        for directory in (self.partial_dir, self.incoming_dir):
            for key, paths in abandoned(directory, self.stale_part_age, now).items():
                with self._lock:  # a transfer cannot open its files while they are removed
                    if key not in self._busy:
                        removed += remove_transfer(key, paths, self.stale_part_age)
        self.flush_used()
        return removed
