"""File sharing of one node, composed: records, index, blobs, transfer, upload.

:class:`NodeFiles` builds the file-sharing parts around a running :class:`ChordNode` from the
node's config, with whichever record and transfer clients the caller picked (gRPC in the
service, the in-memory twins in tests), and is the facade the REST file routes use
(:class:`chordshare.api.deps.FilesFacade`). Its pieces:

* :class:`RecordStore` (SQLite in ``data_dir``) and :class:`RecordNode`: the DHT records;
* :class:`SharedIndex` over ``shared_dir`` (hash cache in ``data_dir``) and :class:`BlobStore`
  (``data_dir/blobs``): the files this node serves;
* :class:`FileTransferService`: serves pieces, receives uploads (a stored upload makes this node
  announce itself as a provider at once);
* :class:`Uploader`: pushes REST uploads to their holders and publishes the record;
  :class:`Fetcher` downloads files for REST readers into the blob store.

Lifecycle (driven by :mod:`chordshare.service.node_service`): :meth:`NodeFiles.open` before the
gRPC server starts (its :meth:`registrars` go on the server), :meth:`take_over` right after the
join, :meth:`start` before the node reports ready (its files are published when ``ready`` is
set), :meth:`jobs` run by the maintenance loop, :meth:`hand_off` during a graceful
leave, :meth:`close` at shutdown. The periodic jobs live in :mod:`chordshare.node.records.jobs`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from chordshare.api.schemas.files import file_uri
from chordshare.clock import Clock, SystemClock
from chordshare.errors import (
    ChordshareError,
)
from chordshare.model.held import HeldFile
from chordshare.model.manifest import FileManifest
from chordshare.model.records import RecordKey
from chordshare.node.records.jobs import Publisher, RepairPacer
from chordshare.node.records.node import RecordNode
from chordshare.node.ring.chord import ChordNode
from chordshare.node.transfer.fetch import Fetcher
from chordshare.node.transfer.holders import HolderLocator
from chordshare.node.transfer.replicate import ByteRepair
from chordshare.node.transfer.serve import FileTransferService
from chordshare.node.transfer.upload import Uploader
from chordshare.service.config import NodeConfig, quota_bytes
from chordshare.service.copies import NodeCopies, hand_off_pinned
from chordshare.service.dirs import clear_spool, make_dirs
from chordshare.service.files_facade import FacadeMethods
from chordshare.service.removal import NodeRemoval
from chordshare.service.rescan import RescanReport, rescan_shared
from chordshare.service.watch import SharedDirWatcher
from chordshare.storage.files.blobs import BlobStore
from chordshare.storage.files.index import ScanResult, SharedIndex
from chordshare.storage.files.removal import RemovalStore
from chordshare.storage.files.stale import remove_abandoned, transfer_key
from chordshare.storage.records.store import RecordStore
from chordshare.transport.grpc.records.servicer import records_registrar
from chordshare.transport.grpc.server import Registrar
from chordshare.transport.grpc.transfer.servicer import transfer_registrar
from chordshare.transport.ports.records import RecordClient, message_budget
from chordshare.transport.ports.transfer import TransferClient, TransferLimits

log = logging.getLogger(__name__)

SPOOL_DIR = "spool"
"""Under ``data_dir``: REST uploads being received (hashed while spooled, then pushed)."""

SWEEP_EVERY = 3600.0
"""Longest time in seconds between two sweeps of stale transfer files (a quarter of
``stale_part_age`` when that is shorter), so a file outlives its age by a small fraction."""

Job = tuple[str, float, Callable[[], Awaitable[object]]]
"""(name, interval in seconds, step): what :class:`chordshare.node.ring.maintenance.Maintenance`
runs on a jittered timer."""


class NodeFiles(FacadeMethods):
    """The file sharing of one node. Build it with :meth:`open`; :meth:`close` at exit."""

    def __init__(
        self,
        node: ChordNode,
        config: NodeConfig,
        store: RecordStore,
        blobs: BlobStore,
        record_client: RecordClient,
        transfer_client: TransferClient,
        *,
        clock: Clock,
        wall_clock: Callable[[], float],
        removal: RemovalStore | None = None,
    ) -> None:
        self.node = node
        self.removal_store = removal or RemovalStore(config.data_dir)
        self.config = config
        self.store = store
        self.blobs = blobs
        self.transfer_client = transfer_client
        self.clock = clock
        self.wall_clock = wall_clock
        self._leaving = False
        self.index = SharedIndex(config.shared_dir, config.data_dir, config.piece_size)
        self.records = RecordNode(
            node,
            store,
            record_client,
            replicas=config.replication_factor,
            message_bytes=message_budget(config.max_message_bytes),
            provider_ttl=config.provider_ttl,
            holds=self._provides,
        )
        self.publisher = Publisher(
            self.records, node.me, config.provider_ttl, wall_clock, uri_of=file_uri
        )
        self.uploader = Uploader(
            HolderLocator(node, config.replication_factor),
            transfer_client,
            replication=config.replication_factor,
            piece_size=config.piece_size,
            spool_dir=config.data_dir / SPOOL_DIR,
            uri_of=file_uri,
            max_file_bytes=config.max_file_bytes,
            provider_ttl=config.provider_ttl,
            wall_clock=wall_clock,
            publish=self.publisher.publish_upload,
        )
        self.removal = NodeRemoval(
            self.removal_store,
            self.records,
            self.uploader,
            transfer_client,
            self.publisher,
            self._provides,
        )
        self.transfer = FileTransferService(
            node.me,
            blobs,
            self.index,
            TransferLimits(
                max_message_bytes=config.max_message_bytes,
                max_file_bytes=config.max_file_bytes,
                max_streams_per_peer=config.max_streams_per_peer,
            ),
            on_stored=self._stored_upload,
            removal=self.removal_store,
            on_removed=self.removal.removed,
        )
        self.last_scan: ScanResult | None = None
        """What the latest rescan found (``hashed`` counts the files it had to hash)."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._rescan_lock = asyncio.Lock()
        self._watcher = SharedDirWatcher(config.shared_dir, self.rescan)
        self.fetcher = Fetcher(node.me.id, transfer_client, blobs, clock, self._stored)
        self.copies = NodeCopies(self.index, blobs, self._announce_pinned)
        self.bytes = ByteRepair(
            self.records,
            self.uploader,
            self.copies,
            uri_of=file_uri,
            provider_ttl=config.provider_ttl,
            wall_clock=wall_clock,
            removal=self.removal_store,
        )
        self.pacer = RepairPacer(
            self.records, clock, config.stabilize_interval, bytes_repair=self.bytes
        )

    @classmethod
    async def open(
        cls,
        node: ChordNode,
        config: NodeConfig,
        record_client: RecordClient,
        transfer_client: TransferClient,
        *,
        clock: Clock | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> NodeFiles:
        """Create ``shared_dir`` and ``data_dir`` if missing, open the record store and the
        blob store. Raises ConfigError for a directory that cannot be created, StorageError for
        a damaged store."""
        await asyncio.to_thread(
            functools.partial(make_dirs, shared_dir=config.shared_dir, data_dir=config.data_dir)
        )
        store = await RecordStore.open(config.data_dir, node.space, wall_clock=wall_clock)
        try:
            blobs = await asyncio.to_thread(
                functools.partial(
                    BlobStore,
                    config.data_dir,
                    pinned_quota=quota_bytes(config.pinned_quota),
                    cache_quota=quota_bytes(config.cache_quota),
                    stale_part_age=config.stale_part_age,
                    wall_clock=wall_clock,
                )
            )
            await asyncio.to_thread(clear_spool, config.data_dir / SPOOL_DIR)
        except BaseException:
            await store.close()
            raise
        return cls(
            node,
            config,
            store,
            blobs,
            record_client,
            transfer_client,
            clock=clock or SystemClock(),
            wall_clock=wall_clock,
        )

    def registrars(self) -> list[Registrar]:
        """The gRPC services of file sharing (Records, Transfer), for ``GrpcServer.add_servicer``
        before the server starts."""
        space = self.node.space
        return [records_registrar(self.records, space), transfer_registrar(self.transfer, space)]

    async def close(self) -> None:
        """Cancel background work (announcements, downloads), record the cache's last uses and
        close the record store."""
        await self._watcher.stop()
        await self.fetcher.close()
        await asyncio.to_thread(self.blobs.flush_used)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.store.close()
        await asyncio.to_thread(self.removal_store.close)

    async def idle(self) -> None:
        """Wait until the background work started so far (announcements) has finished."""
        while running := [t for t in self._tasks if not t.done()]:
            await asyncio.gather(*running, return_exceptions=True)

    # -- lifecycle steps -----------------------------------------------------------------------

    async def take_over(self) -> int:
        """After joining: pull the records of our new range from the successor."""
        return await self.records.take_over()

    async def hand_off(self) -> int:
        """Graceful leave, after the leave notices: copy the bytes this node pins to the nodes
        that replace it (for at most ``leave_handoff_timeout``), withdraw this node from every
        record it provides, push every record held here to the successor. Failures are logged:
        the key owners' repair and the providers' republishing restore what is missing."""
        await self._watcher.stop()
        pinned = [f.manifest for f in self.held_files() if f.pinned]
        await hand_off_pinned(self.bytes, pinned, self.config.leave_handoff_timeout, self.clock)
        # From now on this node answers that it provides nothing, so that the holders it
        # withdraws from (and every later asker) believe its tombstones.
        self._leaving = True
        await self.publisher.withdraw([f.manifest for f in self.held_files()])
        try:
            handed = await self.records.hand_off()
        except ChordshareError as exc:
            log.warning("hand-off of records failed: %s", exc)
            return 0
        log.info("handed %d records to the successor", handed)
        return handed

    def _provides(self, key: RecordKey) -> bool:
        """Whether this node serves the variant ``key`` (the answer to ``Provides``)."""
        if self._leaving:
            return False
        return self.copies.held_file(key.name, key.content_hash) is not None

    def jobs(self) -> list[Job]:
        """The periodic work, for the maintenance loop: rescan, republish, record repair, and
        the sweep of stale transfer files."""
        cfg = self.config
        return [
            ("rescan", cfg.rescan_interval, self.rescan),
            ("republish", cfg.republish_interval, self.republish),
            ("records_repair", self.pacer.period, self.pacer.step),
            ("sweep_stale", min(cfg.stale_part_age / 4, SWEEP_EVERY), self.sweep_stale),
        ]

    async def start(self) -> ScanResult:
        """Before the node reports ready: scan ``shared_dir`` and publish every file held, shared
        and stored alike (a restarted node may have a new id, and what it stores must be
        announced under that id now, not a republish interval later)."""
        result = await asyncio.to_thread(self.index.scan)
        self.last_scan = result
        await self._announce(self.held_files())
        self._withdraw_evicted()  # at open, when the cache quota shrank since the last run
        return result

    async def rescan(self) -> RescanReport:
        """Rescan ``shared_dir``: publish new and changed files, withdraw removed and changed
        ones at once (see :mod:`chordshare.service.rescan`), and retry publishes that failed
        before. One rescan at a time: the periodic job, the watcher and ``POST
        /api/v1/rescan`` may ask together."""
        async with self._rescan_lock:
            report = await rescan_shared(self.index, self.publisher, self.held_file)
            self.last_scan = report.scan
            await self._retry()
            return report

    def start_watching(self) -> None:
        """Rescan as soon as files change in ``shared_dir`` (:mod:`chordshare.service.watch`),
        until the hand-off of a leave or :meth:`close`."""
        self._watcher.start()

    async def republish(self) -> int:
        """Refresh this node's provider entry of every file it holds (before ``provider_ttl``
        runs out); returns how many were published."""
        return await self._announce(self.held_files())

    async def sweep_stale(self) -> int:
        """Delete the files of transfers untouched for ``stale_part_age`` (partial downloads
        and received uploads in the blob store, REST upload spools), sparing those in progress;
        returns how many files were deleted."""
        busy = {transfer_key(p) for p in self.uploader.spooling}  # read here, in the loop
        removed = await asyncio.to_thread(self.blobs.sweep_stale)
        spool = self.config.data_dir / SPOOL_DIR
        age = self.config.stale_part_age
        return removed + await asyncio.to_thread(
            remove_abandoned, spool, age, self.wall_clock(), busy
        )

    async def _announce(self, files: Sequence[HeldFile]) -> int:
        """Publish this node as a provider of each file, pinned ones as pinned."""
        pinned = [f.manifest for f in files if f.pinned]
        others = [f.manifest for f in files if not f.pinned]
        publish = self.publisher.publish_own
        return await publish(others) + await publish(pinned, pinned=True)

    async def _announce_pinned(self, manifest: FileManifest) -> int:
        return await self.publisher.publish_own([manifest], pinned=True)

    async def _retry(self) -> int:
        held = {(f.manifest.name, f.manifest.content_hash) for f in self.held_files()}
        failed = [
            (m, p) for m, p in self.publisher.take_failed() if (m.name, m.content_hash) in held
        ]
        publish = self.publisher.publish_own
        return await publish([m for m, p in failed if not p]) + await publish(
            [m for m, p in failed if p], pinned=True
        )

    def _stored(self, manifest: FileManifest) -> None:
        """A file entered the blob store as a cached copy (a download for a REST client):
        announce this node as a provider at once, not a republish interval later, and withdraw
        the cached files evicted to make room for it."""
        self._spawn(self.publisher.publish_own([manifest]))
        self._withdraw_evicted()

    def _withdraw_evicted(self) -> None:
        evicted = [s.manifest_as(n) for s in self.blobs.take_evicted() for n in s.names]
        if evicted:
            self._spawn(self.publisher.withdraw(evicted))

    def _stored_upload(self, manifest: FileManifest) -> None:
        """An upload (or a repair's copy) entered the blob store as a pinned replica: announce
        it at once, without waiting for the uploader's publish, which never comes if the
        uploader dies."""
        self._spawn(self._announce_pinned(manifest))

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        # The coroutine itself becomes the task: one cancelled by close() before it ran is
        # closed by asyncio, where a wrapper cancelled first would leave it never awaited.
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("background file-sharing work failed", exc_info=exc)
