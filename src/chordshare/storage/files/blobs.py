"""The node's store of file bytes it received (uploads) or fetched (downloads), under data_dir.

Layout under ``<data_dir>/blobs``::

    files/<name>                complete, verified files, one per name
    meta/<sha256(name)>.json    the manifest of each and the identity of its data file
    partial/<content>.part      a download being assembled (resumable) ...
    partial/<content>.part.have ... and the log of its verified pieces
    incoming/<random>.part      an upload being received (never resumed; wiped at start)

Every path is built from a validated name (:func:`chordshare.model.names.path_in`) or from hex
digests, and files are opened without following symlinks, so nothing is read or written outside
these directories. A file enters ``files/`` only complete and verified, by an atomic rename after
an fsync of its data; then its meta is written (fsync, rename, fsync of the directory). A data
file without matching meta (a crash between the two steps) is deleted at start: its holder never
acknowledged it, so the network does not count it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from chordshare.errors import InvalidName, StorageError, TransferError
from chordshare.model.manifest import Buffer, FileManifest
from chordshare.model.names import path_in, validate_name
from chordshare.storage.files.pieces import FileIdentity, PieceReader, piece_digest

log = logging.getLogger(__name__)

_SIDECAR_MAGIC = b"chordshare-part-v1\n"
_INDEX = struct.Struct("<I")
_WRITE_FLAGS = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class PartialFile:
    """A file assembled piece by piece at ``part_path``, renamed to ``final_path`` when whole.

    With ``resumable``, ``<part_path>.have`` logs the pieces written and verified (appended, 4
    bytes each, after the piece's bytes were written). Reopening re-verifies the logged pieces
    against their hashes (a crash may have lost page-cache data or torn the log) and keeps those
    that pass; everything else is fetched again. The caller verifies pieces before
    :meth:`mark_verified` (see :class:`chordshare.storage.files.pieces.PieceReceiver`).
    """

    def __init__(
        self,
        manifest: FileManifest,
        part_path: Path,
        final_path: Path,
        *,
        resumable: bool = True,
        on_finish: Callable[[PartialFile, FileIdentity], None] | None = None,
    ) -> None:
        self.manifest = manifest
        self.part_path = part_path
        self.final_path = final_path
        self.sidecar_path = part_path.with_name(part_path.name + ".have")
        self.resumable = resumable
        self.verified: set[int] = set()
        self._on_finish = on_finish
        self._fd = -1
        self._log_fd = -1

    # -- lifecycle ------------------------------------------------------------------------

    def open(self) -> set[int]:
        """Open (creating or resuming); returns the pieces already present and verified."""
        try:
            self._fd = os.open(self.part_path, _WRITE_FLAGS, 0o644)
            claimed = self._read_log() if self.resumable else set()
            if os.fstat(self._fd).st_size != self.manifest.size:
                os.ftruncate(self._fd, self.manifest.size)
            self.verified = {i for i in claimed if self._piece_ok(i)}
            if self.resumable:
                self._rewrite_log()
        except OSError as exc:
            self.close()
            raise StorageError(f"cannot open {self.part_path}: {exc.strerror or exc}") from exc
        return set(self.verified)

    def _read_log(self) -> set[int]:
        try:
            raw = self.sidecar_path.read_bytes()
        except FileNotFoundError:
            raw = b""
        header = _SIDECAR_MAGIC + self.manifest.content_hash
        if not raw.startswith(header):
            os.ftruncate(self._fd, 0)  # another file's leftovers: start afresh
            return set()
        body = raw[len(header) :]
        usable = len(body) - len(body) % _INDEX.size  # a torn last entry is ignored
        indexes = {i for (i,) in _INDEX.iter_unpack(body[:usable])}
        return {i for i in indexes if i < self.manifest.pieces}

    def _piece_ok(self, index: int) -> bool:
        length = self.manifest.piece_length(index)
        data = os.pread(self._fd, length, index * self.manifest.piece_size)
        return len(data) == length and piece_digest(data) == self.manifest.piece_hashes[index]

    def _rewrite_log(self) -> None:
        tmp = self.sidecar_path.with_name(self.sidecar_path.name + ".tmp")
        body = b"".join(_INDEX.pack(i) for i in sorted(self.verified))
        tmp.write_bytes(_SIDECAR_MAGIC + self.manifest.content_hash + body)
        os.replace(tmp, self.sidecar_path)
        self._log_fd = os.open(self.sidecar_path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)

    def close(self) -> None:
        """Close without finishing (what was verified stays for a resume)."""
        for fd in (self._fd, self._log_fd):
            if fd >= 0:
                os.close(fd)
        self._fd = self._log_fd = -1

    def discard(self) -> None:
        """Close and delete the partial data and its log."""
        self.close()
        for path in (self.part_path, self.sidecar_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    # -- writing --------------------------------------------------------------------------

    def missing(self) -> list[int]:
        return [i for i in range(self.manifest.pieces) if i not in self.verified]

    def write(self, piece: int, offset: int, data: Buffer) -> None:
        """Write a chunk of ``piece`` at ``offset`` within it."""
        view = memoryview(data)
        position = piece * self.manifest.piece_size + offset
        try:
            while view:
                written = os.pwrite(self._fd, view, position)
                view = view[written:]
                position += written
        except OSError as exc:
            raise StorageError(f"cannot write {self.part_path}: {exc.strerror or exc}") from exc

    def mark_verified(self, piece: int) -> None:
        """Record that ``piece`` was written and verified."""
        self.verified.add(piece)
        if self._log_fd >= 0:
            os.write(self._log_fd, _INDEX.pack(piece))

    def finish(self) -> Path:
        """fsync, rename atomically to ``final_path``, fsync the directory; the final path."""
        if len(self.verified) != self.manifest.pieces:
            raise TransferError(f"{self.manifest.name}: {len(self.missing())} pieces missing")
        try:
            os.fsync(self._fd)
            identity = FileIdentity.of(os.fstat(self._fd))
            self.close()
            os.replace(self.part_path, self.final_path)
            fsync_dir(self.final_path.parent)
            with contextlib.suppress(FileNotFoundError):
                self.sidecar_path.unlink()
        except OSError as exc:
            raise StorageError(f"cannot store {self.final_path}: {exc.strerror or exc}") from exc
        if self._on_finish is not None:
            self._on_finish(self, identity)
        return self.final_path


@dataclass(frozen=True, slots=True)
class StoredFile:
    manifest: FileManifest
    path: Path
    identity: FileIdentity


class BlobStore:
    """Complete files by name and content hash, plus partial and incoming files.

    Thread-safe: transfers may finish on worker threads.
    """

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "blobs"
        self.files_dir = self.root / "files"
        self.meta_dir = self.root / "meta"
        self.partial_dir = self.root / "partial"
        self.incoming_dir = self.root / "incoming"
        self._lock = threading.Lock()
        self._by_name: dict[str, StoredFile] = {}
        self._active: set[bytes] = set()
        try:
            for d in (self.files_dir, self.meta_dir, self.partial_dir, self.incoming_dir):
                d.mkdir(parents=True, exist_ok=True)
            for leftover in self.incoming_dir.iterdir():
                leftover.unlink()
            self._load()
        except OSError as exc:
            raise StorageError(f"cannot open the blob store {self.root}: {exc}") from exc

    def _meta_path(self, name: str) -> Path:
        return self.meta_dir / (hashlib.sha256(name.encode("utf-8")).hexdigest() + ".json")

    def _load(self) -> None:
        for meta in self.meta_dir.glob("*.json"):
            stored = self._read_meta(meta)
            if stored is None:
                log.warning("dropping unreadable or stale blob meta %s", meta.name)
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
            if meta != self._meta_path(manifest.name):
                return None
            if FileIdentity.of(path.lstat()) != identity:
                return None
        except (OSError, ValueError, KeyError, TypeError, InvalidName):
            return None
        return StoredFile(manifest, path, identity)

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
        part = self.incoming_dir / f"{secrets.token_hex(16)}.part"
        partial = PartialFile(
            manifest, part, self._final(manifest), resumable=False, on_finish=self._register
        )
        partial.open()
        return partial

    def partial(self, manifest: FileManifest) -> PartialFile:
        """A resumable download into the store (not yet opened). One per content at a time:
        a second concurrent download of the same content raises TransferError."""
        final = self._final(manifest)
        key = manifest.content_hash
        with self._lock:
            if key in self._active:
                raise TransferError(f"{manifest.name} is already being downloaded here")
            self._active.add(key)
        part = self.partial_dir / f"{key.hex()}.part"
        return _StorePartial(self, manifest, part, final, self._register)

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

    def _release(self, content_hash: bytes) -> None:
        with self._lock:
            self._active.discard(content_hash)

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
    """A download into the store; frees its content's slot when closed."""

    def __init__(
        self,
        store: BlobStore,
        manifest: FileManifest,
        part: Path,
        final: Path,
        on_finish: Callable[[PartialFile, FileIdentity], None],
    ) -> None:
        super().__init__(manifest, part, final, on_finish=on_finish)
        self._store = store

    def close(self) -> None:
        super().close()
        self._store._release(self.manifest.content_hash)
