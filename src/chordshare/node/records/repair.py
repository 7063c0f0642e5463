"""Periodic anti-entropy of DHT records (DESIGN.md §4: "records live on the owner and on the next
k-1 successors, repaired by periodic anti-entropy"; Stoica et al. 2001 §5 replication through
the successor list; digest-then-sync as in Dynamo's anti-entropy, with one digest per range).

One round (:meth:`RecordRepair.run`) on a node N with predecessor P:

1. **expire**: delete providers whose expiry passed and records left without one.
2. **replicate the owned range** ``(P, N]``: for each of N's next k-1 successors, compare range
   digests; if they differ, pull the successor's copy of the range (it may hold records N lacks,
   e.g. after N took over from a crashed owner) and push N's merged copy. In-sync replicas cost
   one small RPC. After a crash of up to k-1 holders of a range, the surviving holder nearest
   the range becomes its owner (its predecessor pointer moves back) and this step restores k.
3. **hand on strays**: a record whose key is not in ``(P, N]`` belongs to some owner O. N looks O
   up (range ``(O.pred, O]``, holders O and its k-1 successors, from O's own view); if N is not
   among the holders, N pushes its records of that range to O and forgets each page only after
   O acknowledged it. Holders found by lookup, so one round costs about k-1 lookups plus one per
   stray range (bounded by :attr:`RepairSettings.max_stray_ranges`).

Nothing is decided while N's predecessor is unknown (right after a crash of P, before
stabilization): N cannot tell its range then, so the round skips steps 2 and 3.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chordshare.errors import LookupFailed, PeerError
from chordshare.ring import in_half_open, in_open

if TYPE_CHECKING:
    from chordshare.node.records.node import RecordNode

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RepairSettings:
    max_stray_ranges: int = 32
    """Foreign key ranges examined per round. A node legitimately replicates k-1 ranges besides
    its own, and a join or leave adds about one stray range, so 32 covers heavy churn while
    bounding a round to a few dozen lookups."""

    def __post_init__(self) -> None:
        if self.max_stray_ranges < 1:
            raise ValueError("max_stray_ranges must be at least 1")


@dataclass(slots=True)
class RepairReport:
    """What one repair round did (for logs, metrics and tests)."""

    expired_providers: int = 0
    expired_records: int = 0
    replicas_synced: int = 0
    """Successors whose copy of our range differed and was synced."""
    pulled: int = 0
    pushed: int = 0
    handed_on: int = 0
    """Stray records pushed to their owner and forgotten here."""
    skipped: str = ""
    """Why steps 2-3 did not run ("" when they did)."""
    failures: list[str] = field(default_factory=list)


class RecordRepair:
    def __init__(self, records: RecordNode, settings: RepairSettings) -> None:
        self.records = records
        self.settings = settings

    async def run(self) -> RepairReport:
        report = RepairReport()
        rec = self.records
        report.expired_providers, report.expired_records = await rec.store.expire()
        table = rec.node.table
        if table.alone:
            report.skipped = "alone: this node holds the whole ring"
            return report
        pred = table.predecessor
        if pred is None:
            report.skipped = "predecessor unknown: our range is undecided"
            return report
        await self._replicate_owned(pred.id, report)
        await self._hand_on_strays(pred.id, report)
        return report

    async def _replicate_owned(self, pred: int, report: RepairReport) -> None:
        rec = self.records
        me = rec.me.id
        local = await rec.store.digest(pred, me)
        for target in rec.replica_targets():
            try:
                if await rec.client.range_digest(target, pred, me) == local:
                    continue
                pulled = await rec.sync.pull(target, pred, me)
                if pulled:
                    local = await rec.store.digest(pred, me)
                report.pulled += pulled
                report.pushed += await rec.sync.push(target, pred, me)
                report.replicas_synced += 1
            except PeerError as exc:
                report.failures.append(f"replica {target.grpc_address}: {exc}")

    async def _hand_on_strays(self, pred: int, report: RepairReport) -> None:
        """Walk the local keys outside ``(pred, me]`` clockwise from ``me``, one owner range at
        a time."""
        rec = self.records
        me = rec.me.id
        size = rec.node.space.size
        cursor = me
        for _ in range(self.settings.max_stray_ranges):
            key = await rec.store.next_key(cursor, pred)
            if key is None:
                return
            try:
                found = await rec.node.find_successor(key)
            except LookupFailed as exc:
                report.failures.append(f"lookup of stray key: {exc}")
                return
            owner = found.owner
            if owner.id == me or not in_half_open(owner.id, cursor, pred, size):
                # Our own range per the ring, or beyond the foreign arc: views disagree right
                # now (stabilization in progress); decide next round.
                return
            try:
                info = await rec.node.client.get_node_info(owner)
                owner_pred = info.predecessor
                holders = {owner.id, *(p.id for p in info.successors[: rec.replicas - 1])}
                if (
                    owner_pred is not None
                    and me not in holders
                    and in_half_open(key, owner_pred.id, owner.id, size)
                    and not in_open(me, owner_pred.id, owner.id, size)
                ):
                    report.handed_on += await rec.sync.push(
                        owner, owner_pred.id, owner.id, forget=True
                    )
            except PeerError as exc:
                report.failures.append(f"owner {owner.grpc_address}: {exc}")
            if owner.id == pred:
                return  # the foreign arc is done ((pred, pred] would be the whole ring)
            cursor = owner.id
