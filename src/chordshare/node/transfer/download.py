"""Downloading a file from its providers (DESIGN.md §5).

The missing pieces are cut into batches of consecutive pieces (one Download stream each), and a
bounded pool of workers fetches batches in parallel, each from the least busy provider that has
not failed, so a file held by several providers comes from all of them. Every chunk is checked
and every piece verified against its BLAKE3 hash as it arrives (:class:`PieceReceiver`) and written
into a :class:`PartialFile`, which logs verified pieces so that an interrupted download resumes
with only the missing ones. A provider that fails (unreachable, timed out, broke the protocol,
served bytes that fail their hash) is dropped for the rest of the download with the reason
recorded, and the unfinished pieces of its batch go back to the queue for another provider; a
provider that is merely busy (RESOURCE_EXHAUSTED) is retried after a backoff. When the last piece
is verified the file is fsynced and renamed into place.

The same code runs inside a node (into its :class:`BlobStore`, after which the node can provide
the file) and in the CLI (``chordshare get NAME -o PATH``, straight to the providers).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from chordshare.clock import Clock, SystemClock
from chordshare.errors import (
    ChordshareError,
    LimitExceeded,
    PeerProtocolError,
    StorageError,
    TransferError,
)
from chordshare.model.digest import Hasher
from chordshare.model.manifest import FileRecord, Provider
from chordshare.model.names import path_in
from chordshare.ring import PeerRef
from chordshare.storage.files.partial import PartialFile
from chordshare.storage.files.pieces import PieceReceiver
from chordshare.transport.ports.transfer import Chunk, TransferClient

if TYPE_CHECKING:  # the blob store's modules are not needed by the CLI's download
    from chordshare.storage.files.blobs import BlobStore

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""``progress(bytes_done, bytes_total)``, called as pieces are verified (and once at start with
what a resume already had)."""

PieceWritten = Callable[[int], None]
"""``on_piece(index)``, called on the event loop once piece ``index`` is written and verified
(and at start for each piece a resume already had): its bytes in the file are final."""


@dataclass(frozen=True, slots=True)
class DownloadSettings:
    max_streams: int = 4
    """Concurrent streams over all providers: enough to keep three providers busy with one
    stream spare, and to overlap one stream's round trip with another's data on one provider."""
    streams_per_provider: int = 2
    """Concurrent streams to one provider: two hide the gap between one batch's end and the
    next's start; more would only meet the provider's per-peer bound (4 by default)."""
    batch_bytes: int = 16 << 20
    """Bytes asked for per stream (rounded to whole pieces): large enough that the round trip
    and setup of a stream are amortized (a millisecond against 16 MiB), small enough that a 256
    MiB file still spreads over 16 batches and a failed batch costs little to re-fetch."""
    busy_retries: int = 3
    """RESOURCE_EXHAUSTED answers one provider may give before it is dropped for this download."""
    busy_backoff: float = 0.2
    """Seconds before a busy provider is asked again, doubling at each refusal."""
    offload: bool = (os.cpu_count() or 1) > 2
    """Hash and write chunks on worker threads (blake3 and pwrite release the GIL), overlapping
    them with receiving the next chunk. With spare cores this lets the piece hash (BLAKE3, about
    1.3 GB/s per core on the 2-CPU VM) scale with the streams; on two cores, measured when pieces
    were hashed with SHA-256, it gained nothing over doing the work on the event loop (the cores
    are already busy with the sender and gRPC), so off there."""

    def __post_init__(self) -> None:
        if min(self.max_streams, self.streams_per_provider, self.batch_bytes) < 1:
            raise ValueError("download settings must be positive")


@dataclass(slots=True)
class DownloadReport:
    name: str
    content_hash: bytes
    path: Path
    pieces_from: dict[int, int]
    """Provider node id -> pieces verified from it in this run."""
    bad_providers: dict[int, str]
    """Provider node id -> why it was dropped."""
    resumed_pieces: int
    """Pieces already present and verified from an earlier, interrupted run."""

    @property
    def fetched_pieces(self) -> int:
        return sum(self.pieces_from.values())


@dataclass(eq=False, slots=True)
class _Source:
    provider: Provider
    ref: PeerRef
    in_flight: int = 0
    cap: int = 1
    busy: int = 0
    bad: str | None = None
    pieces: int = 0


@dataclass(slots=True)
class _Batch:
    first: int
    count: int
    pending: set[int] = field(default_factory=set)


class Download:
    """One download of ``record`` into ``target``; ``await run()`` once."""

    def __init__(
        self,
        client: TransferClient,
        record: FileRecord,
        target: PartialFile,
        *,
        settings: DownloadSettings | None = None,
        progress: Progress | None = None,
        clock: Clock | None = None,
        on_piece: PieceWritten | None = None,
    ) -> None:
        self.client = client
        self.record = record
        self.manifest = record.manifest
        self.target = target
        self.settings = settings or DownloadSettings()
        self.progress = progress
        self.on_piece = on_piece
        self.clock = clock or SystemClock()
        per = self.settings.streams_per_provider
        # In the record's order, which breaks ties between equally busy sources: a node's find
        # lists the providers that confirmed the variant first (ProviderChecks.confirmed_first).
        self.sources = [
            _Source(p, PeerRef(p.node_id, p.grpc_address, ""), cap=per) for p in record.providers
        ]
        self._queue: deque[_Batch] = deque()
        self._changed = asyncio.Condition()
        self._active = 0
        self._done_bytes = 0
        self._receiver = PieceReceiver(self.manifest)
        self._failure: TransferError | None = None
        self._pool: ThreadPoolExecutor | None = None

    # -- driver ---------------------------------------------------------------------------

    async def run(self) -> DownloadReport:
        present = await asyncio.to_thread(self.target.open)
        try:
            self._receiver = PieceReceiver(self.manifest, set(present))
            self._done_bytes = sum(self.manifest.piece_length(i) for i in present)
            if self.on_piece is not None:
                for index in sorted(present):
                    self.on_piece(index)
            self._report()
            self._queue.extend(self._batches(self.target.missing()))
            if self._queue:
                await self._fetch_all()
            path = await asyncio.to_thread(self.target.finish)
        except BaseException:
            self.target.close()
            raise
        return DownloadReport(
            self.manifest.name,
            self.manifest.content_hash,
            path,
            {s.provider.node_id: s.pieces for s in self.sources if s.pieces},
            {s.provider.node_id: s.bad for s in self.sources if s.bad is not None},
            len(present),
        )

    async def _fetch_all(self) -> None:
        workers = min(self.settings.max_streams, len(self._queue))
        if self.settings.offload:
            self._pool = ThreadPoolExecutor(workers, "chordshare-download")
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(workers):
                    group.create_task(self._worker())
        except BaseExceptionGroup as group_error:
            raise group_error.exceptions[0] from None  # the first failure, e.g. a disk error
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)  # no write may outlive the file descriptor
                self._pool = None
        if self._failure is not None:
            raise self._failure

    def _batches(self, missing: list[int]) -> list[_Batch]:
        per_batch = max(1, self.settings.batch_bytes // self.manifest.piece_size)
        batches: list[_Batch] = []
        for index in missing:
            last = batches[-1] if batches else None
            if last and last.first + last.count == index and last.count < per_batch:
                last.count += 1
                last.pending.add(index)
            else:
                batches.append(_Batch(index, 1, {index}))
        return batches

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(self._done_bytes, self.manifest.size)

    # -- workers --------------------------------------------------------------------------

    async def _worker(self) -> None:
        while True:
            async with self._changed:
                picked = await self._changed.wait_for(self._next)
            if not isinstance(picked, tuple):
                return
            batch, source = picked
            try:
                await self._fetch(batch, source)
            finally:
                async with self._changed:
                    source.in_flight -= 1
                    self._active -= 1
                    self._changed.notify_all()

    def _next(self) -> tuple[_Batch, _Source] | bool:
        """What to do next: (batch, source), True when finished, False to wait."""
        if self._failure is not None:
            return True
        if not self._queue:
            return self._active == 0
        good = [s for s in self.sources if s.bad is None]
        if not good:
            reasons = "; ".join(f"{s.ref.grpc_address}: {s.bad}" for s in self.sources)
            self._failure = TransferError(
                f"{self.manifest.name}: {len(self.target.missing())} pieces missing and no "
                f"provider left ({reasons or 'the record lists none'})"
            )
            return True
        free = [s for s in good if s.in_flight < s.cap]
        if not free:
            return False
        source = min(free, key=lambda s: (s.in_flight, s.pieces))
        source.in_flight += 1
        self._active += 1
        return self._queue.popleft(), source

    async def _fetch(self, batch: _Batch, source: _Source) -> None:
        try:
            stream = self.client.download(
                source.ref, self.manifest.content_hash, batch.first, batch.count
            )
            try:
                await self._receive(stream, batch, source)
            finally:
                await stream.aclose()  # end the call now, not at garbage collection
            if batch.pending:
                raise PeerProtocolError(f"stream ended with {len(batch.pending)} pieces unsent")
        except StorageError:
            raise  # our own disk, not the provider's fault
        except LimitExceeded as exc:
            await self._requeue(batch, source, exc, busy=True)
        except ChordshareError as exc:
            await self._requeue(batch, source, exc, busy=False)

    async def _receive(self, stream: AsyncIterator[Chunk], batch: _Batch, source: _Source) -> None:
        """Hash and write each chunk, inline or (offload) on a worker thread while the next
        chunk is received; one chunk of a stream at a time, so a piece is hashed in order."""
        loop = asyncio.get_running_loop()
        job: asyncio.Future[None] | None = None
        last: Chunk | None = None
        try:
            async for chunk in stream:
                if job is not None and last is not None:
                    await job
                    job = None
                    self._account(batch, source, last)
                hasher = self._begin(batch, chunk)
                if self._pool is None:
                    self._absorb(hasher, chunk)
                    self._account(batch, source, chunk)
                else:
                    job = loop.run_in_executor(self._pool, self._absorb, hasher, chunk)
                    last = chunk
            if job is not None and last is not None:
                await job
                job = None
                self._account(batch, source, last)
        finally:
            if job is not None:  # a failed stream: let the write finish before a refetch
                await asyncio.wait([job])

    def _begin(self, batch: _Batch, chunk: Chunk) -> Hasher:
        if chunk.piece not in batch.pending:
            raise PeerProtocolError(f"sent piece {chunk.piece}, outside the range asked")
        return self._receiver.begin(chunk.piece, chunk.offset, memoryview(chunk.data).nbytes)

    def _absorb(self, hasher: Hasher, chunk: Chunk) -> None:
        hasher.update(chunk.data)
        self.target.write(chunk.piece, chunk.offset, chunk.data)

    def _account(self, batch: _Batch, source: _Source, chunk: Chunk) -> None:
        if self._receiver.end(chunk.piece, memoryview(chunk.data).nbytes):
            self.target.mark_verified(chunk.piece)
            if self.on_piece is not None:
                self.on_piece(chunk.piece)
            batch.pending.discard(chunk.piece)
            source.pieces += 1
            self._done_bytes += self.manifest.piece_length(chunk.piece)
            self._report()

    async def _requeue(
        self, batch: _Batch, source: _Source, exc: ChordshareError, *, busy: bool
    ) -> None:
        for piece in batch.pending:
            self._receiver.forget(piece)
        address = source.ref.grpc_address
        retry = busy and source.busy < self.settings.busy_retries
        async with self._changed:
            if retry:
                source.busy += 1
                source.cap = max(1, source.in_flight - 1)
            else:
                source.bad = f"{type(exc).__name__}: {exc}"
            self._queue.extendleft(reversed(self._batches(sorted(batch.pending))))
            self._changed.notify_all()
        if retry:
            log.info("provider %s busy, asking again later: %s", address, exc)
            # This worker keeps its slot on the provider while it waits, so the provider is
            # asked less often; other workers take the batch from other providers meanwhile.
            await self.clock.sleep(self.settings.busy_backoff * 2 ** (source.busy - 1))
        else:
            log.warning("dropping provider %s for %s: %s", address, self.manifest.name, exc)


# -- entry points ---------------------------------------------------------------------------


async def download_file(
    client: TransferClient,
    record: FileRecord,
    dest: Path,
    *,
    settings: DownloadSettings | None = None,
    progress: Progress | None = None,
    clock: Clock | None = None,
    on_piece: PieceWritten | None = None,
) -> DownloadReport:
    """Download ``record`` to ``dest`` (``dest/<name>`` if ``dest`` is a directory), resumable
    through ``<dest>.part`` and ``<dest>.part.have``. For the CLI."""
    if await asyncio.to_thread(dest.is_dir):
        dest = path_in(dest, record.name)
    part = dest.with_name(dest.name + ".part")
    target = PartialFile(record.manifest, part, dest)
    job = Download(
        client, record, target, settings=settings, progress=progress, clock=clock, on_piece=on_piece
    )
    return await job.run()


async def download_to_store(
    client: TransferClient,
    record: FileRecord,
    blobs: BlobStore,
    *,
    settings: DownloadSettings | None = None,
    progress: Progress | None = None,
    clock: Clock | None = None,
) -> DownloadReport:
    """Download ``record`` into a node's blob store (resumable), after which the node can
    serve it; a file already stored with that content is not fetched again."""
    stored = blobs.by_content(record.manifest.content_hash)
    if stored is not None and stored.manifest == record.manifest:
        return DownloadReport(record.name, record.manifest.content_hash, stored.path, {}, {}, 0)
    target = blobs.partial(record.manifest)
    job = Download(client, record, target, settings=settings, progress=progress, clock=clock)
    return await job.run()
