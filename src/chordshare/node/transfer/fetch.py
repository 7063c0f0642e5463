"""Fetching a file into a node's blob store on behalf of REST readers, readable as it arrives.

``GET /api/v1/network/files/{name}/content`` makes the node download the file from its providers
(:class:`chordshare.node.transfer.download.Download` into the store's partial file: every piece
verified, several providers at once, resumable) and serve it. :class:`Fetcher` runs one download
per content at a time, a :class:`Fetching`: concurrent readers share it, and it runs to the end
even if every reader goes away (a client that hangs up should not waste what was fetched; the
node then provides the file). When every provider failed it ends with ``PeerUnavailable``.

A reader need not wait for the end: :meth:`Fetching.reader` reads verified bytes from the
partial file while the download goes on, waiting for the pieces it needs, in order, whatever the
order they arrive in. Only verified pieces are read. Each reader gets its own descriptor of the
partial file once, a duplicate of the download's: when the download finishes and the file is
renamed into the store (or dropped, when the store held the content already), the reader keeps
reading the same file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import replace

from chordshare.clock import Clock
from chordshare.errors import NotFound, PeerUnavailable, StorageError, TransferError
from chordshare.model.held import HeldFile
from chordshare.model.manifest import FileManifest, FileRecord
from chordshare.node.transfer.download import Download, DownloadSettings
from chordshare.node.transfer.tracker import Transfer, TransferTracker
from chordshare.storage.files.blobs import BlobStore, PartialFile
from chordshare.transport.ports.transfer import TransferClient

log = logging.getLogger(__name__)

_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class Fetching:
    """One download into the store, shared by its readers: which pieces are verified so far,
    where they are, and how the download ended. Built by :meth:`Fetcher.start`."""

    def __init__(self, manifest: FileManifest) -> None:
        self.manifest = manifest
        self._target: PartialFile | None = None
        """Set once the partial file is open (the download's first progress report)."""
        self._changed = asyncio.Event()
        self._task: asyncio.Task[HeldFile] | None = None

    # -- what readers see -----------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Whether the download has ended, complete or not."""
        return self._task is not None and self._task.done()

    @property
    def succeeded(self) -> bool:
        """Whether the download ended with the whole file in the store."""
        task = self._task
        return task is not None and task.done() and not task.cancelled() and not task.exception()

    def has(self, piece: int) -> bool:
        """Whether ``piece`` is verified and readable (it stays so for this download)."""
        if self._target is not None and piece in self._target.verified:
            return True
        return self.succeeded  # every piece (also when the store held the file already)

    async def wait(self, piece: int) -> None:
        """Return once ``piece`` is verified; raise why the download ended without it."""
        self.manifest.piece_length(piece)  # IndexError for a piece the file does not have
        while not self.has(piece):
            if self._task is not None and self._task.done():
                self._raise_failure()
            changed = self._changed
            await changed.wait()

    async def ended(self) -> None:
        """Return once the download has ended, however it ended (waiting does not cancel it)."""
        assert self._task is not None
        await asyncio.wait([self._task])

    async def result(self) -> HeldFile:
        """The stored file once the download has finished (waiting does not cancel it)."""
        assert self._task is not None
        return await asyncio.shield(self._task)

    async def reader(self, first_piece: int = 0) -> FetchReader:
        """A reader of the verified bytes, once ``first_piece`` is verified (raises what ended
        the download before that). Close it when done."""
        await self.wait(first_piece)
        target = self._target
        # While pieces are missing the download has not begun to finish (on a worker thread,
        # once every piece is verified: fsync, close, rename), so its descriptor is open here.
        if target is not None and not self.done and len(target.verified) < self.manifest.pieces:
            fd = target.reader_fd()
            if fd is not None:
                return FetchReader(self, fd)
        held = await self.result()  # finished, or finishing: read the stored file
        try:
            fd = await asyncio.to_thread(os.open, held.path, _READ_FLAGS)
        except FileNotFoundError as exc:
            raise NotFound(f"{self.manifest.name} vanished from this node") from exc
        except OSError as exc:
            raise StorageError(f"cannot read {held.path}: {exc.strerror or exc}") from exc
        return FetchReader(self, fd)

    def _raise_failure(self) -> None:
        assert self._task is not None
        if self._task.cancelled():
            raise TransferError(f"the download of {self.manifest.name} was stopped")
        exc = self._task.exception()
        assert exc is not None, "a download that succeeded has every piece"
        raise exc

    # -- what the download reports --------------------------------------------------------

    def _progress(self, target: PartialFile) -> Callable[[int, int], None]:
        """The download's progress callback, on the event loop: once when ``target`` is open
        (with what a resume already had), then after every verified piece."""

        def progressed(done: int, total: int) -> None:
            self._target = target
            self._notify()

        return progressed

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()


class FetchReader:
    """Reads one :class:`Fetching`'s verified bytes through one file descriptor."""

    def __init__(self, fetching: Fetching, fd: int) -> None:
        self.fetching = fetching
        self._fd = fd
        self._lock = threading.Lock()
        self._reading = False
        self._closed = False

    async def read(self, offset: int, limit: int) -> bytes:
        """At least one byte at ``offset`` (waiting for its piece to be verified) and at most
        ``limit``, never past the verified pieces that follow it without a gap; raises what
        ended the download if that piece will never come."""
        manifest = self.fetching.manifest
        if not 0 <= offset < manifest.size or limit < 1:
            raise ValueError(f"cannot read {limit} bytes at {offset} of {manifest.size}")
        piece = offset // manifest.piece_size
        await self.fetching.wait(piece)
        end = min(offset + limit, manifest.size)
        stop = (piece + 1) * manifest.piece_size  # the end of the verified run
        while stop < end and self.fetching.has(stop // manifest.piece_size):
            stop += manifest.piece_size
        length = min(end, stop) - offset
        data = await asyncio.to_thread(self._pread, length, offset)
        if len(data) != length:
            raise StorageError(f"{manifest.name}: short read at byte {offset} of this node's copy")
        return data

    def _pread(self, length: int, offset: int) -> bytes:
        """On a worker thread; a close meanwhile leaves the descriptor to this read to close."""
        with self._lock:
            if self._closed:
                raise StorageError(f"the reader of {self.fetching.manifest.name} is closed")
            self._reading = True
        try:
            return os.pread(self._fd, length, offset)
        except OSError as exc:
            name = self.fetching.manifest.name
            raise StorageError(f"cannot read {name}: {exc.strerror or exc}") from exc
        finally:
            with self._lock:
                self._reading = False
                if self._closed:
                    os.close(self._fd)

    def close(self) -> None:
        """Close the descriptor now, or when the read in flight (a cancelled one) returns."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if not self._reading:
                os.close(self._fd)


class Fetcher:
    """Downloads records into ``blobs``; ``fetched(manifest)`` is told of every success."""

    def __init__(
        self,
        me: int,
        client: TransferClient,
        blobs: BlobStore,
        clock: Clock,
        fetched: Callable[[FileManifest], None],
        *,
        settings: DownloadSettings | None = None,
    ) -> None:
        self.me = me
        self.client = client
        self.blobs = blobs
        self.clock = clock
        self.settings = settings
        self._fetched = fetched
        self._running: dict[bytes, Fetching] = {}
        self.tracker: TransferTracker | None = None
        """Where downloads are registered (set by the composition root; ``None``: not)."""

    def start(self, record: FileRecord) -> Fetching:
        """The download of ``record``'s content running now, started if none is."""
        content = record.manifest.content_hash
        fetching = self._running.get(content)
        if fetching is None:
            fetching = Fetching(record.manifest)
            task = asyncio.get_running_loop().create_task(self._download(record, fetching))
            fetching._task = task
            self._running[content] = fetching
            task.add_done_callback(lambda done: self._done(content, done))
        return fetching

    def running(self, content_hash: bytes) -> Fetching | None:
        """The download of that content running now, if any."""
        return self._running.get(content_hash)

    async def fetch(self, record: FileRecord) -> HeldFile:
        """``record``'s file in the store, once downloaded (sharing a running download)."""
        return await self.start(record).result()

    async def close(self) -> None:
        """Cancel the downloads still running (their verified pieces stay for a resume)."""
        running = [f._task for f in self._running.values() if f._task is not None]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    def _done(self, content: bytes, task: asyncio.Task[HeldFile]) -> None:
        fetching = self._running.pop(content, None)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.info("download of %s failed: %s", content.hex()[:16], exc)  # and retrieved
        if fetching is not None:
            fetching._notify()  # readers waiting for a piece learn how it ended

    async def _download(self, record: FileRecord, fetching: Fetching) -> HeldFile:
        manifest = record.manifest
        others = tuple(p for p in record.providers if p.node_id != self.me)
        if not others:
            raise PeerUnavailable(
                f"{record.name}: no provider other than this node, which does not hold it "
                "(any more)"
            )
        stored = self.blobs.by_content(manifest.content_hash)
        if stored is not None and stored.manifest == manifest:
            return HeldFile("store", manifest, stored.path)
        target = self.blobs.partial(manifest)  # LimitExceeded: larger than the cache quota
        progress = fetching._progress(target)
        try:
            with contextlib.ExitStack() as tracking:
                if self.tracker is not None:
                    transfer = tracking.enter_context(
                        self.tracker.track(
                            "download",
                            name=record.name,
                            content_hash=manifest.content_hash,
                            bytes_total=manifest.size,
                        )
                    )
                    progress = _tracked(progress, transfer)
                job = Download(
                    self.client,
                    replace(record, providers=others),
                    target,
                    settings=self.settings,
                    progress=progress,
                    clock=self.clock,
                )
                report = await job.run()
        except TransferError as exc:  # every provider failed (our own disk: StorageError)
            raise PeerUnavailable(f"no provider could serve {record.name}: {exc}") from exc
        log.info("downloaded %s: pieces per provider %s", record.name, report.pieces_from)
        self._fetched(manifest)
        return HeldFile("store", manifest, report.path)


def _tracked(
    progress: Callable[[int, int], None], transfer: Transfer
) -> Callable[[int, int], None]:
    """``progress``, also setting the bytes the tracked ``transfer`` has done."""

    def progressed(done: int, total: int) -> None:
        transfer.bytes_done = done
        progress(done, total)

    return progressed
