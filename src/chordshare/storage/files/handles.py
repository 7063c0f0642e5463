"""The blob store's open files: a download or upload on its way in, a reader of a stored file.

Both report back to the store through callbacks (:class:`Hooks`, a reader's ``on_close``), so
that the store knows which transfers and readers are open: a transfer's files are never swept
and its quota reservation is held until it ends; a file being read is never evicted.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chordshare.errors import StorageError
from chordshare.model.manifest import FileManifest
from chordshare.storage.files.partial import PartialFile
from chordshare.storage.files.pieces import FileIdentity, PieceReader
from chordshare.storage.files.stored import Kind


@dataclass(frozen=True, slots=True)
class Hooks:
    """What a :class:`StorePartial` tells its store."""

    enter: Callable[[StorePartial], Path]
    """Put a complete partial (fsynced) into the store; the stored file's path."""
    register: Callable[[PartialFile, FileIdentity], None]
    """Record a new content once it was renamed into place (``PartialFile``'s ``on_finish``)."""
    release: Callable[[str, bool], None]
    """``release(key, reservation)``: the transfer closed (and gave up its reservation)."""


class StorePartial(PartialFile):
    """A download or upload into the store under transfer ``key``. ``held``: the content was
    stored already when a download began, so it needs no byte: it opens complete and its
    ``finish`` only adds the name. It frees its key when closed, and its reservation too unless
    it is closed by ``finish`` (the store then releases the reservation as it counts the file)."""

    def __init__(
        self,
        hooks: Hooks,
        key: str,
        manifest: FileManifest,
        part: Path,
        final: Path,
        kind: Kind,
        *,
        resumable: bool = True,
        held: bool = False,
    ) -> None:
        super().__init__(manifest, part, final, resumable=resumable, on_finish=hooks.register)
        self.key = key
        self.kind: Kind = kind
        self.held = held and resumable
        self._hooks = hooks
        self._finishing = False

    def open(self) -> set[int]:
        if self.held:
            self.verified = set(range(self.manifest.pieces))
            return set(self.verified)
        return super().open()

    def finish(self) -> Path:
        if len(self.verified) != self.manifest.pieces:
            return super().finish()  # raises TransferError naming what is missing
        if self._fd >= 0:  # the slow fsync of the data before the store's lock
            try:
                os.fsync(self._fd)
            except OSError as exc:
                raise StorageError(f"cannot store {self.part_path}: {exc.strerror}") from exc
        self._finishing = True
        try:
            return self._hooks.enter(self)
        finally:
            self._finishing = False

    def close(self) -> None:
        super().close()
        self._hooks.release(self.key, not self._finishing)


class StoreReader(PieceReader):
    """A reader of a stored file that calls ``on_close`` once, when it closes."""

    def __init__(self, fd: int, manifest: FileManifest, on_close: Callable[[], None]) -> None:
        super().__init__(fd, manifest)
        self._on_close: Callable[[], None] | None = on_close

    def close(self) -> None:
        super().close()
        done, self._on_close = self._on_close, None
        if done is not None:
            done()
