"""Pieces: hashing a file into a :class:`FileManifest`, and verifying pieces as they arrive.

A file is split into ``piece_size`` pieces, each hashed with BLAKE3 (DESIGN.md §5; the hash is
defined once, in ``model.digest``). Hashing reads one piece at a time into a reused buffer, so
memory stays bounded by the piece size (at most ``MAX_PIECE_SIZE``) whatever the file size.
:class:`PieceReceiver` checks a stream of chunks against a manifest: each piece's bytes must
arrive contiguously, within bounds, and hash to the declared digest; it does no I/O, so uploads
and downloads share it.
"""

from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from chordshare.errors import IntegrityError, InvalidInput, NotFound, StorageError
from chordshare.model.digest import NAME as HASH_NAME
from chordshare.model.digest import Hasher, digest, new_hasher
from chordshare.model.manifest import DEFAULT_PIECE_SIZE, Buffer, FileManifest


def piece_digest(data: Buffer) -> bytes:
    """BLAKE3 of one piece (blake3 releases the GIL for buffers of 2 KiB or more)."""
    return digest(data)


def piece_offset(manifest: FileManifest, index: int) -> int:
    """Byte offset of piece ``index`` in the file."""
    manifest.piece_length(index)  # range check
    return index * manifest.piece_size


class PieceHasher:
    """Hashes a byte stream into pieces incrementally (for uploads from a stream)."""

    def __init__(self, piece_size: int = DEFAULT_PIECE_SIZE) -> None:
        self.piece_size = piece_size
        self.size = 0
        self._digests: list[bytes] = []
        self._current = new_hasher()
        self._filled = 0

    def update(self, data: Buffer) -> None:
        view = memoryview(data).cast("B")
        while view:
            take = min(len(view), self.piece_size - self._filled)
            self._current.update(view[:take])
            self._filled += take
            self.size += take
            view = view[take:]
            if self._filled == self.piece_size:
                self._digests.append(self._current.digest())
                self._current = new_hasher()
                self._filled = 0

    def manifest(self, name: str) -> FileManifest:
        """The manifest of everything fed so far."""
        digests = list(self._digests)
        if self._filled:
            digests.append(self._current.digest())
        return FileManifest(name, self.size, self.piece_size, tuple(digests))


def hash_file(path: Path, name: str, piece_size: int = DEFAULT_PIECE_SIZE) -> FileManifest:
    """The manifest of the file at ``path``, read one piece at a time into a reused buffer.

    Raises :class:`StorageError` if the file cannot be read or changes size while hashed.
    """
    buffer = bytearray(piece_size)
    view = memoryview(buffer)
    digests: list[bytes] = []
    size = 0
    try:
        with path.open("rb", buffering=0) as f:
            expected = os.fstat(f.fileno()).st_size
            while True:
                got = _read_full(f, view)
                if got == 0:
                    break
                digests.append(piece_digest(view[:got]))
                size += got
                if got < piece_size:
                    break
    except OSError as exc:
        raise StorageError(f"cannot hash {path}: {exc.strerror or exc}") from exc
    if size != expected:
        raise StorageError(f"{path} changed size while it was hashed")
    return FileManifest(name, size, piece_size, tuple(digests))


def _read_full(f: io.FileIO, view: memoryview) -> int:
    """Fill ``view`` from raw file ``f`` unless end of file comes first; bytes read."""
    filled = 0
    while filled < len(view):
        got = f.readinto(view[filled:])
        if not got:
            break
        filled += got
    return filled


@dataclass(slots=True)
class _Progress:
    received: int
    hasher: Hasher


class PieceReceiver:
    """Checks chunks of pieces against ``manifest`` as they arrive; no I/O.

    ``feed(piece, offset, data)`` returns True when it completes piece ``piece`` with the right
    hash. It raises :class:`InvalidInput` for bytes the manifest does not allow (a piece out of
    range, a gap, an overlap, bytes past the end of a piece, a piece sent twice) and
    :class:`IntegrityError` when a completed piece hashes wrong; the piece is then forgotten so
    that it can be fetched again.
    """

    def __init__(self, manifest: FileManifest, verified: set[int] | None = None) -> None:
        self.manifest = manifest
        self.verified: set[int] = set() if verified is None else verified
        self._open: dict[int, _Progress] = {}

    @property
    def complete(self) -> bool:
        return len(self.verified) == self.manifest.pieces

    def check(self, piece: int, offset: int, length: int) -> None:
        """Raise InvalidInput unless ``length`` bytes at ``offset`` of ``piece`` are expected."""
        if not 0 <= piece < self.manifest.pieces:
            raise InvalidInput(f"piece {piece} is out of range (file has {self.manifest.pieces})")
        if piece in self.verified:
            raise InvalidInput(f"piece {piece} was already received")
        progress = self._open.get(piece)
        expected = progress.received if progress else 0
        if offset != expected:
            raise InvalidInput(f"piece {piece}: chunk at offset {offset}, expected {expected}")
        if length == 0:
            raise InvalidInput(f"piece {piece}: empty chunk")
        if offset + length > self.manifest.piece_length(piece):
            raise InvalidInput(f"piece {piece}: chunk runs past the end of the piece")

    def feed(self, piece: int, offset: int, data: Buffer) -> bool:
        """Check, hash and account one chunk: :meth:`begin`, ``update``, :meth:`end`."""
        length = memoryview(data).nbytes
        self.begin(piece, offset, length).update(data)
        return self.end(piece, length)

    def begin(self, piece: int, offset: int, length: int) -> Hasher:
        """Check a chunk and return the hasher of its piece. The caller updates the hasher with
        the chunk's bytes (possibly on another thread) and then calls :meth:`end`; chunks of one
        piece must go through begin/update/end one after the other."""
        self.check(piece, offset, length)
        progress = self._open.get(piece)
        if progress is None:
            progress = self._open[piece] = _Progress(0, new_hasher())
        return progress.hasher

    def end(self, piece: int, length: int) -> bool:
        """Account ``length`` hashed bytes of ``piece``; True when it completed and verified."""
        progress = self._open[piece]
        progress.received += length
        if progress.received < self.manifest.piece_length(piece):
            return False
        del self._open[piece]
        if progress.hasher.digest() != self.manifest.piece_hashes[piece]:
            raise IntegrityError(f"piece {piece} does not match its {HASH_NAME}")
        self.verified.add(piece)
        return True

    def forget(self, piece: int) -> None:
        """Drop a half-received piece (its stream failed); it may be sent again from offset 0."""
        self._open.pop(piece, None)


def verify_piece(manifest: FileManifest, index: int, data: Buffer) -> None:
    """Raise :class:`IntegrityError` unless ``data`` is exactly piece ``index``."""
    if memoryview(data).nbytes != manifest.piece_length(index):
        raise IntegrityError(f"piece {index} has the wrong length")
    if piece_digest(data) != manifest.piece_hashes[index]:
        raise IntegrityError(f"piece {index} does not match its {HASH_NAME}")


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """What tells that a file on disk is still the one that was hashed: size, modification time
    and inode (a file replaced by rename gets a new inode even if size and mtime match)."""

    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileIdentity:
        return cls(st.st_size, st.st_mtime_ns, st.st_ino)


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
"""O_NOFOLLOW: a name that became a symlink since it was checked is refused, not followed."""


class PieceReader:
    """Reads pieces of one file with ``os.pread`` (no shared file position, so concurrent
    streams of the same file need no lock)."""

    def __init__(self, fd: int, manifest: FileManifest) -> None:
        self.fd = fd
        self.manifest = manifest
        self._buffer = bytearray()

    @classmethod
    def open(
        cls, path: Path, manifest: FileManifest, identity: FileIdentity | None = None
    ) -> PieceReader:
        """Open ``path`` (never through a symlink) for ``manifest``. Raises :class:`NotFound`
        if it is gone, is not a regular file, or is no longer ``identity``/the manifest's size."""
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except OSError as exc:
            raise NotFound(f"{manifest.name}: {exc.strerror or exc}") from exc
        try:
            st = os.fstat(fd)
            now = FileIdentity.of(st)
            if not _is_regular(st) or now.size != manifest.size:
                raise NotFound(f"{manifest.name}: the file changed since it was indexed")
            if identity is not None and now != identity:
                raise NotFound(f"{manifest.name}: the file changed since it was indexed")
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, manifest)

    def read(self, piece: int, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset`` within ``piece``; raises NotFound if the file shrank."""
        start = piece_offset(self.manifest, piece) + offset
        data = os.pread(self.fd, length, start)
        if len(data) != length:
            raise NotFound(f"{self.manifest.name}: the file shrank while it was being served")
        return data

    def view(self, piece: int, offset: int, length: int) -> memoryview:
        """Like :meth:`read`, into a buffer this reader reuses: the view is valid only until the
        next call. Serving with it saves an allocation per chunk, and fresh 1 MiB allocations
        are what costs most here (glibc hands them back to the kernel and the next one is
        page-faulted and zeroed again: measured at twice the CPU of the copies themselves)."""
        if len(self._buffer) < length:
            self._buffer = bytearray(length)
        view = memoryview(self._buffer)[:length]
        start = piece_offset(self.manifest, piece) + offset
        got = 0
        while got < length:
            n = os.preadv(self.fd, [view[got:]], start + got)
            if n == 0:
                raise NotFound(f"{self.manifest.name}: the file shrank while it was being served")
            got += n
        return view

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> PieceReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def verify_file(path: Path, manifest: FileManifest) -> FileIdentity:
    """Re-hash the file at ``path`` piece by piece against ``manifest``; its identity when every
    piece matches. Reads one piece at a time into a reused buffer (memory bounded by the piece
    size) and never through a symlink. Raises :class:`IntegrityError` naming the first reason
    it does not match (not a regular file, another size, a piece's hash, a change while it was
    read) and :class:`StorageError` when it cannot be read."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise StorageError(f"cannot open {path}: {exc.strerror or exc}") from exc
    try:
        before = os.fstat(fd)
        if not _is_regular(before):
            raise IntegrityError("not a regular file")
        if before.st_size != manifest.size:
            raise IntegrityError(f"{before.st_size} bytes, the manifest says {manifest.size}")
        view = memoryview(bytearray(min(manifest.piece_size, max(manifest.size, 1))))
        for index in range(manifest.pieces):
            length = manifest.piece_length(index)
            got = 0
            while got < length:
                n = os.preadv(fd, [view[got:length]], index * manifest.piece_size + got)
                if n == 0:
                    raise IntegrityError("the file shrank while it was verified")
                got += n
            if piece_digest(view[:length]) != manifest.piece_hashes[index]:
                raise IntegrityError(f"piece {index} does not match its {HASH_NAME}")
        identity = FileIdentity.of(before)
        if FileIdentity.of(os.fstat(fd)) != identity:
            raise IntegrityError("the file changed while it was verified")
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    return identity


def _is_regular(st: os.stat_result) -> bool:
    return stat.S_ISREG(st.st_mode)
