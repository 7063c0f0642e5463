"""Keeping k copies of every upload's bytes: repair by the key's owner, hand-off on leave.

Records are repaired by anti-entropy (:mod:`chordshare.node.records.repair`); the bytes they
point at need the same care, as CFS/DHash and Dynamo give theirs. An upload's holders are
*pinned* providers of its record (:attr:`chordshare.model.manifest.Provider.pinned`). Files
shared from a shared directory and cached copies are not pinned: their node is their only
authority, and nobody copies them for it.

:class:`ByteRepair`, one round on node N with predecessor P, for every record in N's own range
``(P, N]`` (N is the owner of those names, and so the one node that acts on them):

1. ask every distinct pinned holder whether it is alive (one ping each per round);
2. write a tombstone for each pinned holder that did not answer, so that readers stop being
   sent there at once rather than at the provider TTL;
3. if fewer than ``min(k, ring size)`` pinned holders answered, copy the bytes to the nodes that
   should hold them (N and its successors, in ring order, skipping current holders) over the
   Upload stream, every piece verified by the receiver: from N's own copy when it has one,
   else relayed from a live holder's Download stream (N stores nothing it only passes on);
4. publish the record with the new pinned holders and the tombstones.

Every copy made gets the upload's removal keys (:func:`~.remove.keys_for_copy`), so that its
uploader can still take it out of the network.

Pinned holders beyond k (after joins moved the key range) are kept: extra copies cost space, not
safety, and they make the next crash cheaper.

:func:`hand_off_pinned` is a leaving node's share: for each content it pins, the key's current
holders without it are asked for the record, and when fewer than k pinned holders would remain
the bytes are pushed to the next node that lacks them, before the node exits.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from chordshare.errors import ChordshareError, PeerError, TransferError
from chordshare.model.limits import DEFAULT_PROVIDER_TTL
from chordshare.model.manifest import FileManifest, FileRecord, Provider
from chordshare.node.records.node import RecordNode
from chordshare.node.ring.observe import peer_data
from chordshare.node.transfer.remove import keys_for_copy
from chordshare.node.transfer.tracker import Transfer, TransferTracker, counted
from chordshare.node.transfer.upload import Uploader, UriOf
from chordshare.ring import PeerRef
from chordshare.storage.files.removal import RemovalStore

log = logging.getLogger(__name__)


class LocalCopies(Protocol):
    """This node's verified copies of file bytes (the service's blob store and shared index)."""

    def copy_of(self, manifest: FileManifest) -> Path | None:
        """The path of a complete, verified local copy of that content, or None."""
        ...

    async def pin(self, manifest: FileManifest) -> None:
        """Keep the local copy of that content (see :meth:`copy_of`) as one of its pinned
        replicas, announced as such. Raises ChordshareError (e.g. LimitExceeded: the pinned
        quota has no room for it)."""
        ...


@dataclass(slots=True)
class ByteRepairReport:
    """What one byte-repair round did."""

    records: int = 0
    """Pinned records examined (this node owns their names)."""
    dead_holders: int = 0
    """Pinned holders that did not answer and got a tombstone."""
    copies: int = 0
    """New pinned copies made (pushed to another node or fetched here)."""
    short: int = 0
    """Records left with fewer than the wanted holders (no source, or no candidate took it)."""
    failures: list[str] = field(default_factory=list)


@dataclass(slots=True)
class HandOffReport:
    """What a leaving node's hand-off of pinned bytes did."""

    contents: int = 0
    copies: int = 0
    short: int = 0
    """Contents left with fewer than the wanted holders besides this node."""
    failures: list[str] = field(default_factory=list)


class ByteRepair:
    """Restores k pinned holders for the uploads whose names this node owns."""

    def __init__(
        self,
        records: RecordNode,
        uploader: Uploader,
        copies: LocalCopies,
        *,
        uri_of: UriOf,
        provider_ttl: float = DEFAULT_PROVIDER_TTL,
        wall_clock: Callable[[], float] = time.time,
        removal: RemovalStore | None = None,
    ) -> None:
        self.records = records
        self.uploader = uploader
        self.copies = copies
        self.removal = removal
        self.uri_of = uri_of
        self.provider_ttl = provider_ttl
        self.wall_clock = wall_clock
        self.rounds = 0
        self.tracker: TransferTracker | None = None
        """Where repair copies are registered (set by the composition root; ``None``: not)."""

    @property
    def me(self) -> PeerRef:
        return self.records.me

    def candidates(self) -> list[PeerRef]:
        """Where an owned key's bytes belong, in order: this node, then its successors."""
        return [self.me, *self.records.node.table.successors.peers()]

    async def run(self) -> ByteRepairReport:
        report = ByteRepairReport()
        self.rounds += 1
        table = self.records.node.table
        pred = table.predecessor
        if pred is None and not table.alone:
            return report  # our range is undecided until stabilization finds the predecessor
        start = self.me.id if pred is None else pred.id
        owned = [
            r
            for r in await self.records.store.scan(start, self.me.id)
            if any(p.pinned and p.offered for p in r.providers)
        ]
        if not owned:
            return report
        alive = await self._alive({p.node_id: p for r in owned for p in _pinned(r)}.values())
        for record in owned:
            report.records += 1
            try:
                await self._repair(record, alive, report)
            except ChordshareError as exc:
                report.failures.append(f"{record.name}: {exc}")
        return report

    async def _alive(self, providers: Iterable[Provider]) -> set[int]:
        """The ids of the providers that answer a ping (this node is alive by definition)."""
        peers = list(providers)
        client = self.records.node.client

        async def ping(p: Provider) -> int | None:
            if p.node_id == self.me.id:
                return p.node_id
            try:
                await client.ping(PeerRef(p.node_id, p.grpc_address))
            except PeerError:
                return None
            return p.node_id

        answers = await asyncio.gather(*(ping(p) for p in peers))
        return {a for a in answers if a is not None}

    async def _repair(self, record: FileRecord, alive: set[int], report: ByteRepairReport) -> None:
        now = self.wall_clock()
        pinned = _pinned(record)
        dead = [p for p in pinned if p.node_id not in alive]
        holding = {p.node_id for p in pinned if p.node_id in alive}
        if self.me.id in holding and self.copies.copy_of(record.manifest) is None:
            holding.discard(self.me.id)  # our entry outlived our copy (a wiped data_dir)
        candidates = self.candidates()
        wanted = min(self.records.replicas, len(candidates))
        added = await self._fill(record, candidates, holding, wanted, alive, report)
        report.dead_holders += len(dead)
        report.short += len(holding) < wanted
        for gone in dead:
            self._event(record, "holder_gone", PeerRef(gone.node_id, gone.grpc_address))
        if dead or added:
            stones = [p.tombstone(now, self.provider_ttl) for p in dead]
            await self.records.publish(replace(record, providers=(*stones, *added)))
            log.info(
                "bytes of %s: %d holders gone, %d copies made, %d of %d holders now",
                record.name,
                len(dead),
                len(added),
                len(holding),
                wanted,
            )

    async def _fill(
        self,
        record: FileRecord,
        candidates: Sequence[PeerRef],
        holding: set[int],
        wanted: int,
        alive: set[int],
        report: ByteRepairReport | HandOffReport,
    ) -> list[Provider]:
        """Copy ``record``'s bytes to candidates, in order, until ``wanted`` hold them
        (``holding`` is updated); the new pinned entries."""
        now = self.wall_clock()
        added: list[Provider] = []
        keys: tuple[bytes, ...] | None = None  # asked once per record, when a copy is needed
        for target in candidates:
            if len(holding) >= wanted:
                break
            if target.id in holding:
                continue
            if keys is None:
                client = self.uploader.client
                keys = await keys_for_copy(record, self.me, self.removal, client, alive)
            try:
                await self._tracked_copy(target, record, alive, keys)
            except ChordshareError as exc:
                report.failures.append(f"{record.name} -> {target.grpc_address}: {exc}")
                self._event(record, "copy_failed", target)
                continue
            self._event(record, "copied", target)
            holding.add(target.id)
            added.append(self._entry(target, record.name, now))
            report.copies += 1
        return added

    async def hand_off(self, pinned: Sequence[FileManifest]) -> HandOffReport:
        """A leaving node's share, after its neighbours spliced it out: for each content it
        pins, make sure ``min(k, ring size)`` other nodes pin it, pushing the bytes to the next
        node of the key's holders that lacks them. Lookups start at the successor, whose view no
        longer has this node. The caller bounds the time; what is done stays done."""
        report = HandOffReport()
        successor = self.records.node.table.successor
        if successor.id == self.me.id:
            return report  # alone: nobody to hand to
        for manifest in pinned:
            try:
                await self._hand_off_one(manifest, successor, report)
            except ChordshareError as exc:
                report.failures.append(f"{manifest.name}: {exc}")
            report.contents += 1
        return report

    async def _hand_off_one(
        self, manifest: FileManifest, successor: PeerRef, report: HandOffReport
    ) -> None:
        key = self.records.key_of(manifest.name)
        found = await self.uploader.locator.find_successor(key, successor)
        candidates = [p for p in found.holders() if p.id != self.me.id]
        wanted = min(self.records.replicas, len(candidates))
        variants = await self.records.find(manifest.name)
        record = next(
            (r for r in variants if r.manifest.content_hash == manifest.content_hash),
            FileRecord(manifest, ()),
        )
        others = [p for p in _pinned(record) if p.node_id != self.me.id]
        alive = await self._alive(others)
        holding = {p.node_id for p in others if p.node_id in alive}
        added = await self._fill(record, candidates, holding, wanted, alive | {self.me.id}, report)
        report.short += len(holding) < wanted
        if added:
            await self.records.publish(replace(record, providers=tuple(added)))

    def _event(self, record: FileRecord, action: str, peer: PeerRef) -> None:
        """A ``repair`` event: ``action`` (holder_gone, copied, copy_failed) about ``peer``."""
        node = self.records.node
        node.events.publish(
            "repair",
            {
                "content_hash": record.manifest.content_hash.hex(),
                "name": record.name,
                "action": action,
                "peer": peer_data(node.space, peer),
            },
        )

    async def _tracked_copy(
        self, target: PeerRef, record: FileRecord, alive: set[int], keys: tuple[bytes, ...]
    ) -> None:
        if self.tracker is None:
            await self._copy_to(target, record, alive, keys)
            return
        manifest = record.manifest
        with self.tracker.track(
            "repair",
            name=record.name,
            content_hash=manifest.content_hash,
            bytes_total=manifest.size,
            peer=target.grpc_address,
        ) as transfer:
            await self._copy_to(target, record, alive, keys, transfer)

    async def _copy_to(
        self,
        target: PeerRef,
        record: FileRecord,
        alive: set[int],
        keys: tuple[bytes, ...],
        transfer: Transfer | None = None,
    ) -> None:
        """Give ``target`` a pinned copy, verified there piece by piece. From this node's own
        copy when it has one (a cached copy here is pinned in place when the target is this
        node); else relayed from a live holder straight into the target's Upload stream, so
        this node needs no room for a file it only passes on (the target may be this node:
        the upload then lands in its own store, under its pinned quota). ``keys``: the
        upload's removal keys, which the copy keeps. ``transfer``: the tracked repair copy,
        told the bytes sent."""
        manifest = record.manifest
        client = self.uploader.client
        path = self.copies.copy_of(manifest)
        if path is not None:
            if target.id == self.me.id:
                await self.copies.pin(manifest)
                if keys and self.removal is not None:
                    await asyncio.to_thread(
                        self.removal.add_keys, manifest.name, manifest.content_hash, keys
                    )
                if transfer is not None:
                    transfer.bytes_done = manifest.size  # pinned in place: nothing moves
            else:
                await self.uploader.send(target, path, manifest, transfer, removal_keys=keys)
            return
        sources = [
            p
            for p in record.providers
            if p.offered
            and p.node_id not in (target.id, self.me.id)
            and (p.node_id in alive or not p.pinned)
        ]
        if not sources:
            raise TransferError(f"{record.name}: no live holder to copy from")
        errors: list[str] = []
        for source in sources:
            peer = PeerRef(source.node_id, source.grpc_address)
            chunks = client.download(peer, manifest.content_hash, 0, manifest.pieces)
            if transfer is not None:
                transfer.bytes_done = 0  # a relay that failed before starts again
                chunks = counted(chunks, transfer)
            try:
                async with aclosing(chunks):
                    holder = await client.upload(target, manifest, chunks, keys)
            except ChordshareError as exc:
                errors.append(f"from {source.grpc_address}: {exc}")
                continue
            if holder.id != target.id:
                raise TransferError(f"{target.grpc_address} answered as another node")
            return
        raise TransferError(f"{record.name}: no holder could be relayed ({'; '.join(errors)})")

    def _entry(self, holder: PeerRef, name: str, now: float) -> Provider:
        return Provider(
            holder.id,
            holder.grpc_address,
            self.uri_of(holder, name),
            now + self.provider_ttl,
            pinned=True,
        )


def _pinned(record: FileRecord) -> list[Provider]:
    return [p for p in record.providers if p.pinned and p.offered]
