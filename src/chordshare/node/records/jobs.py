"""The periodic file-sharing work of a node: publishing its provider entries, pacing repair.

:class:`Publisher` publishes "this node provides that file" records (for shared files at each
rescan and republish, for uploads it stored and files it downloaded at once) with bounded
concurrency, and remembers which publishes failed so that the next rescan retries them instead
of waiting a whole republish interval. :class:`RepairPacer` runs the records' anti-entropy
rounds: regularly, and promptly after this node's key range changed.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Sequence

from chordshare.clock import Clock
from chordshare.errors import ChordshareError, InvalidInput
from chordshare.model.manifest import FileManifest, FileRecord, Provider
from chordshare.node.records.node import RecordNode
from chordshare.node.transfer.replicate import ByteRepair
from chordshare.node.transfer.upload import UriOf
from chordshare.ring import PeerRef

log = logging.getLogger(__name__)

PUBLISH_CONCURRENCY = 8
"""Publishes in flight at once (each is one lookup plus one StoreRecords): enough to republish a
shared directory of thousands of files in seconds on a LAN, few enough not to flood the owners
or this node's stream limits."""

REPAIR_EVERY = 10
"""Stabilize periods between regular repair rounds (20 s at the default 2 s): a round costs
k-1 small digest calls when replicas agree, and a crash of a holder is noticed by stabilize
within about one period anyway, after which the range change triggers a round at once."""

_Key = tuple[str, bytes]


class Publisher:
    """Publishes this node's provider entries into the DHT."""

    def __init__(
        self,
        records: RecordNode,
        me: PeerRef,
        provider_ttl: float,
        wall_clock: Callable[[], float],
        uri_of: UriOf,
    ) -> None:
        self.records = records
        self.uri_of = uri_of
        self.me = me
        self.provider_ttl = provider_ttl
        self.wall_clock = wall_clock
        self.published = 0
        """Successful publishes so far (for tests and logs)."""
        self._failed: dict[_Key, tuple[FileManifest, bool]] = {}

    def own_record(
        self, manifest: FileManifest, *, pinned: bool = False, withdrawn: bool = False
    ) -> FileRecord:
        """``manifest`` with this node as its one provider, valid for ``provider_ttl`` (as a
        tombstone, when ``withdrawn``: see :meth:`Provider.tombstone`)."""
        now = self.wall_clock()
        me = self.me
        uri = self.uri_of(me, manifest.name)
        entry = Provider(me.id, me.grpc_address, uri, now + self.provider_ttl, pinned)
        return FileRecord(
            manifest, (entry.tombstone(now, self.provider_ttl) if withdrawn else entry,)
        )

    async def publish_own(self, manifests: Sequence[FileManifest], *, pinned: bool = False) -> int:
        """Publish this node as a provider of each file (as one of its pinned holders when
        ``pinned``); returns how many succeeded. Failures are logged and remembered
        (:meth:`take_failed`), never raised."""
        return await self._publish_all(manifests, pinned=pinned, withdrawn=False)

    async def withdraw(self, manifests: Sequence[FileManifest]) -> int:
        """Publish tombstones: this node no longer provides these files (it stopped sharing
        them, or it is leaving); readers stop being sent here at once instead of at the
        provider TTL. Returns how many succeeded; failures are logged, never raised (the
        entries then lapse at their TTL)."""
        return await self._publish_all(manifests, pinned=False, withdrawn=True)

    async def _publish_all(
        self, manifests: Sequence[FileManifest], *, pinned: bool, withdrawn: bool
    ) -> int:
        unique = {(m.name, m.content_hash): m for m in manifests}
        if not unique:
            return 0
        gate = asyncio.Semaphore(PUBLISH_CONCURRENCY)

        async def one(key: _Key, manifest: FileManifest) -> bool:
            async with gate:
                record = self.own_record(manifest, pinned=pinned, withdrawn=withdrawn)
                return await self._publish(key, record, retry=not withdrawn)

        done = await asyncio.gather(*(one(k, m) for k, m in unique.items()))
        return sum(done)

    async def _publish(self, key: _Key, record: FileRecord, *, retry: bool) -> bool:
        name = record.name
        try:
            await self.records.publish(record)
        except InvalidInput as exc:  # e.g. too many pieces for one record: retrying won't help
            log.warning("cannot publish %s: %s", name, exc)
            self._failed.pop(key, None)
            return False
        except ChordshareError as exc:
            log.info("publishing %s failed%s: %s", name, ", will retry" if retry else "", exc)
            if retry:
                self._failed[key] = (record.manifest, record.providers[0].pinned)
            return False
        self._failed.pop(key, None)
        self.published += 1
        return True

    def take_failed(self) -> list[tuple[FileManifest, bool]]:
        """The files whose last publish failed, each with whether it was pinned (and forget
        them: the caller retries)."""
        failed = list(self._failed.values())
        self._failed.clear()
        return failed

    async def publish_upload(self, record: FileRecord) -> None:
        """The uploader's publish step (the holders as providers). A failure is logged, not
        raised: the holders announce themselves as soon as they stored the file, so the upload
        stands."""
        try:
            await self.records.publish(record)
        except ChordshareError as exc:
            log.warning("publishing the upload of %s failed: %s", record.name, exc)


class RepairPacer:
    """Runs a repair round every :data:`REPAIR_EVERY` stabilize periods, and at the next period
    once the node's range changed (:attr:`RecordNode.repair_wanted`)."""

    def __init__(
        self,
        records: RecordNode,
        clock: Clock,
        stabilize_interval: float,
        *,
        bytes_repair: ByteRepair | None = None,
    ) -> None:
        """``bytes_repair``: run after each records round (the owner's records are repaired by
        then, so it sees every pinned holder its range's records name)."""
        self.records = records
        self.bytes_repair = bytes_repair
        self.clock = clock
        self.period = stabilize_interval
        """How often :meth:`step` should run (it decides itself whether a round is due)."""
        self.every = stabilize_interval * REPAIR_EVERY
        self.rounds = 0
        self._last = -math.inf

    async def step(self) -> None:
        now = self.clock.now()
        if not self.records.repair_wanted.is_set() and now - self._last < self.every:
            return
        self._last = now
        report = await self.records.repair()
        self.rounds += 1
        if report.pulled or report.pushed or report.handed_on or report.expired_records:
            log.info(
                "records repair: pulled %d, pushed %d, handed on %d, expired %d",
                report.pulled,
                report.pushed,
                report.handed_on,
                report.expired_records,
            )
        for failure in report.failures:
            log.info("records repair: %s", failure)
        if self.bytes_repair is not None:
            done = await self.bytes_repair.run()
            for failure in done.failures:
                log.info("bytes repair: %s", failure)
