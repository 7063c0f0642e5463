"""File records in the DHT (DESIGN.md §4 "Keys", §5).

A record lives under the ring id of its file name (SHA-1 of the name, as keys in Stoica et al.
2001 §4.2) on the key's owner, its successor, and on the owner's next k-1 successors (replication
factor k; the paper's §5 replicates "the data associated with a key at the k nodes succeeding
the key" using the successor list, as CFS/DHash do). Keys move with ownership:

* **publish**: look up the owner of the name and store there; the owner copies to its next k-1
  successors before answering (:meth:`RecordNode.store_records` with ``replicate``).
* **find**: look up the owner and ask it, falling back to its successors (the replicas).
* **words**: a publish also files the record under each word of its name (at most 16; word
  entries, :mod:`chordshare.model.words`), each at the owner of the word's key, which a search
  asks (:mod:`chordshare.node.records.search`). Word entries carry the same provider entries
  (unpinned), so they are refreshed, withdrawn and expire with the name's record, and every
  range operation below moves them with the rest.
* **join** (DESIGN.md §4: "the new node takes the records in (pred, self] from its successor"):
  :meth:`RecordNode.take_over` pulls ``(successor, self]`` from the successor, i.e. the new
  node's own range *and* the k-1 ranges before it that it now replicates: inserting a node
  between P and S gives it exactly the replica duties S had for the ranges before P.
* **graceful leave**: :meth:`RecordNode.hand_off` pushes everything to the successor.
* **repair** (periodic anti-entropy, :mod:`chordshare.node.records.repair`): each owner syncs its
  range with its k-1 successors; records a node holds without being a holder are handed to their
  owner and only then dropped. Providers republish their own files (the service's duty); expired
  providers drop out of every read and are deleted by repair.

Records only grow by merging (providers union, latest expiry wins) and shrink by expiry, so
copying in any direction, any number of times, is safe: the merge is a CRDT, which is what lets
hand-over, replication and repair be simple pushes and pulls without coordination.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass

from chordshare.errors import InvalidInput, LookupFailed, PeerError, PeerUnavailable
from chordshare.model.limits import (
    DEFAULT_PROVIDER_TTL,
    DEFAULT_REPLICAS,
    MAX_RECORDS_PER_CALL,
    RECORD_PAGE_BYTES,
)
from chordshare.model.manifest import FileRecord
from chordshare.model.names import validate_name
from chordshare.model.records import (
    RecordKey,
    RecordPage,
    check_record,
    encoded_size,
    word_entries,
)
from chordshare.node.records.admit import Change, accepted
from chordshare.node.records.changes import announce
from chordshare.node.records.confirm import ProviderChecks
from chordshare.node.records.holders import key_holders
from chordshare.node.records.repair import RecordRepair, RepairReport, RepairSettings
from chordshare.node.records.search import SearchResult, network_names, search
from chordshare.node.records.sync import RangeSync
from chordshare.node.ring.chord import ChordNode
from chordshare.ring import PeerRef, in_half_open
from chordshare.storage.records.store import RecordStore
from chordshare.transport.ports.records import (
    MAX_NAMES_PER_CALL,
    MIN_MESSAGE_BYTES,
    RecordClient,
    fit,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PublishResult:
    """Where a publish landed: the node that accepted it as owner, and the key."""

    key: int
    holder: PeerRef


class RecordNode:
    """The record side of a node. Implements
    :class:`chordshare.transport.ports.records.RecordService`."""

    def __init__(
        self,
        node: ChordNode,
        store: RecordStore,
        client: RecordClient,
        *,
        replicas: int = DEFAULT_REPLICAS,
        repair: RepairSettings | None = None,
        message_bytes: int = RECORD_PAGE_BYTES,
        provider_ttl: float = DEFAULT_PROVIDER_TTL,
        holds: Callable[[RecordKey], bool] | None = None,
    ) -> None:
        """``replicas``: k (at most the successor list size + 1). ``message_bytes``: the record
        bytes one message may carry; with a gRPC limit other than 4 MiB pass
        :func:`chordshare.transport.ports.records.message_budget` of it. ``provider_ttl``: the
        network's provider TTL; a stored entry never expires later than ``now + provider_ttl``
        plus :data:`MAX_CLOCK_SKEW`. ``holds``: whether this node provides a variant itself
        (holds and serves all its bytes); without it the node provides nothing."""
        if provider_ttl <= 0:
            raise ValueError("provider_ttl must be positive")
        if replicas < 1:
            raise ValueError("replicas must be at least 1")
        if replicas - 1 > node.settings.successor_list_size:
            raise ValueError(
                f"replicas - 1 ({replicas - 1}) exceeds the successor list size "
                f"({node.settings.successor_list_size}): the owner could not name its replicas"
            )
        if message_bytes < MIN_MESSAGE_BYTES:
            raise ValueError(f"message_bytes must be at least {MIN_MESSAGE_BYTES}")
        if store.space != node.space:
            raise ValueError("store and node use different id spaces")
        self.node = node
        self.store = store
        self.client = client
        self.replicas = replicas
        self.message_bytes = message_bytes
        self.provider_ttl = provider_ttl
        self.holds: Callable[[RecordKey], bool] = holds or (lambda key: False)
        self.checks = ProviderChecks(node.me, client, node.clock, self.holds)
        self.sync = RangeSync(
            node.me, store, client, self.checks, message_bytes, provider_ttl,
            on_changes=lambda changes: announce(node.events, node.space, changes),
        )  # fmt: skip
        self.repairer = RecordRepair(self, repair or RepairSettings())
        self.repair_wanted = asyncio.Event()
        """Set when the node's key range changed (new predecessor): a repair round is due. The
        service's repair loop may wait on it besides its timer; :meth:`repair` clears it."""
        node.predecessor_listeners.append(self._predecessor_changed)

    def __repr__(self) -> str:
        return f"RecordNode({self.node!r}, k={self.replicas})"

    @property
    def me(self) -> PeerRef:
        return self.node.me

    def key_of(self, name: str) -> int:
        """The ring id a name is stored under."""
        return self.node.space.hash_key(name)

    def replica_targets(self) -> tuple[PeerRef, ...]:
        """The next k-1 successors: where this node, as owner, keeps copies of its range."""
        return self.node.table.successors.peers()[: self.replicas - 1]

    def _predecessor_changed(self, old: PeerRef | None, new: PeerRef | None) -> None:
        self.repair_wanted.set()

    # -- RecordService: answers to other nodes -----------------------------------------------

    async def store_records(self, records: Sequence[FileRecord], replicate: bool) -> None:
        if len(records) > MAX_RECORDS_PER_CALL:
            raise InvalidInput(f"{len(records)} records, at most {MAX_RECORDS_PER_CALL} per call")
        for record in records:
            check_record(record)
        changes: list[Change] = []
        records = await accepted(self.store, records, self.provider_ttl, self.checks, changes)
        await self.store.put(records)
        announce(self.node.events, self.node.space, changes)
        if replicate and records:
            await self._replicate(records)

    async def get_records(self, name: str) -> list[FileRecord]:
        validate_name(name)
        return fit(await self.store.get(name), max_bytes=self.message_bytes)

    async def fetch_range(self, start: int, end: int, after: RecordKey | None) -> RecordPage:
        self._check_ids(start, end)
        return await self.store.range_page(
            start, end, after=after, limit=MAX_RECORDS_PER_CALL, max_bytes=self.message_bytes
        )

    async def range_digest(self, start: int, end: int) -> bytes:
        self._check_ids(start, end)
        return await self.store.digest(start, end)

    async def list_names(self, after: str, limit: int) -> list[str]:
        if not 1 <= limit <= MAX_NAMES_PER_CALL:
            raise InvalidInput(f"limit must be in 1..{MAX_NAMES_PER_CALL}, got {limit}")
        return await self.store.list_names(after, limit)

    async def provides(self, key: RecordKey) -> tuple[int, bool]:
        return self.me.id, self.holds(key.variant)

    async def find_word(self, word: str, after: RecordKey | None) -> RecordPage:
        return await self.store.word_page(
            word, after=after, limit=MAX_RECORDS_PER_CALL, max_bytes=self.message_bytes
        )

    def _check_ids(self, *ids: int) -> None:
        for ident in ids:
            if not 0 <= ident < self.node.space.size:
                raise InvalidInput(f"id {ident:#x} is outside the {self.node.space.bits}-bit ring")

    async def _replicate(self, records: Sequence[FileRecord]) -> None:
        """Copy to the next k-1 successors, concurrently; a dead one is left to repair."""
        targets = self.replica_targets()
        results = await asyncio.gather(
            *(self.client.store_records(t, records, False) for t in targets),
            return_exceptions=True,
        )
        for target, result in zip(targets, results, strict=True):
            if isinstance(result, PeerError):
                log.info("replica %s missed %d records: %s", target, len(records), result)
            elif isinstance(result, BaseException):
                raise result

    # -- the DHT operations this node starts -------------------------------------------------

    async def publish(self, record: FileRecord) -> PublishResult:
        """Store ``record`` at the owner of its name (which replicates it k-1 times).

        If the owner does not answer, its successors are tried in order: the first live one is
        the owner-to-be once stabilization notices the crash. Raises ``InvalidInput`` for a bad
        record, ``LookupFailed`` when no holder could be reached."""
        check_record(record)
        if encoded_size(record) > self.message_bytes:
            raise InvalidInput(
                f"record {record.name!r} ({record.manifest.pieces} pieces) does not fit one "
                f"message of {self.message_bytes} bytes: use a larger piece size"
            )
        words = asyncio.ensure_future(self._publish_words(record))
        try:
            return await self._store_owned(record)
        finally:
            await words

    async def _publish_words(self, record: FileRecord) -> int:
        """File ``record`` under each word of its name (the word index, :mod:`model.words`):
        what a search finds. Best effort: a word whose holders are unreachable is logged and
        restored at the next republish. Returns the words stored."""
        results = await asyncio.gather(
            *(self._store_owned(e) for e in word_entries(record)), return_exceptions=True
        )
        for result in results:
            if isinstance(result, LookupFailed):
                log.info("word entry of %r not stored: %s", record.name, result)
            elif isinstance(result, BaseException):
                raise result
        return sum(1 for r in results if isinstance(r, PublishResult))

    async def _store_owned(self, record: FileRecord) -> PublishResult:
        """Store ``record`` at the first holder of its key that takes it (which replicates)."""
        key = self.key_of(record.key_text)
        errors: list[str] = []
        async with aclosing(key_holders(self.node, key, self.replicas)) as holders:
            async for holder in holders:
                try:
                    await self._store_at(holder, [record], replicate=True)
                except PeerError as exc:
                    errors.append(f"{holder.grpc_address}: {exc}")
                    continue
                return PublishResult(key, holder)
        raise LookupFailed(f"no holder of {record.key_text!r} accepted it: {'; '.join(errors)}")

    async def find(self, name: str) -> list[FileRecord]:
        """Every variant published under ``name`` with its live providers, the one with most
        providers that confirmed it themselves first (:class:`ProviderChecks`; a forgery's many
        invented entries do not count); empty when the network knows no such name.

        Asks the owner, then the replicas if the owner is down *or has nothing* (a node that just
        joined may not have taken its range over yet). Raises ``InvalidName`` for a bad name and
        ``LookupFailed`` when neither the owner nor any replica answered."""
        validate_name(name)
        now = self.store.now()
        answered = False
        async with aclosing(key_holders(self.node, self.key_of(name), self.replicas)) as holders:
            async for holder in holders:
                try:
                    found = await self._get_at(holder, name)
                except PeerError as exc:
                    log.info("holder %s of %r did not answer: %s", holder.grpc_address, name, exc)
                    continue
                answered = True
                live = [r for r in (record.live(now) for record in found) if r.providers]
                if live:
                    return await self.checks.rank(live)
        if not answered:
            raise LookupFailed(f"no holder of {name!r} answered")
        return []

    async def take_over(self) -> int:
        """After joining: pull ``(successor, self]`` from the successor (our range plus the
        replica ranges we now share with it; DESIGN.md §4). In a ring of at most k nodes every
        node holds every record, so then the whole ring is pulled. Falls back to the next
        successors, which replicate the same ranges. Returns the records received."""
        successors = self.node.table.successors.peers()
        # A list shorter than its capacity is the whole rest of the ring.
        small = len(successors) < self.node.table.successors.size
        everything = small and len(successors) + 1 <= self.replicas
        for successor in successors:
            start = self.me.id if everything else successor.id
            try:
                got = await self.sync.pull(successor, start, self.me.id)
            except PeerError as exc:
                log.warning("take-over from %s failed: %s", successor.grpc_address, exc)
                continue
            log.info("took over %d records from %s", got, successor.grpc_address)
            return got
        return 0

    async def hand_off(self) -> int:
        """Graceful leave, once the neighbours know: push every local record to the successor
        (DESIGN.md §4).

        Records of our own range go with ``replicate`` so that the successor, their next owner,
        restores k copies at once; replicas we held go without (their owners still have them).
        A successor that fails is replaced by the next one. Returns the records handed on;
        raises ``PeerUnavailable`` if no successor took them."""
        successors = list(self.node.table.successors.peers())
        if not successors:
            return 0
        pred = self.node.table.predecessor
        me = self.me.id
        size = self.node.space.size
        sent = 0
        after: RecordKey | None = None
        while True:
            page = await self.store.range_page(
                me, me, after=after, limit=MAX_RECORDS_PER_CALL, max_bytes=self.message_bytes
            )
            owned: list[FileRecord] = []
            others: list[FileRecord] = []
            for r in page.records:
                mine = pred is None or in_half_open(self.key_of(r.key_text), pred.id, me, size)
                (owned if mine else others).append(r)
            for batch, replicate in ((owned, True), (others, False)):
                while batch:
                    if not successors:
                        raise PeerUnavailable(f"no successor took our records ({sent} handed on)")
                    try:
                        await self.client.store_records(successors[0], batch, replicate)
                    except PeerError as exc:
                        log.warning("hand-off to %s failed: %s", successors[0], exc)
                        successors.pop(0)
                        continue
                    sent += len(batch)
                    break
            after = page.next_after
            if after is None:
                return sent

    async def repair(self) -> RepairReport:
        """One anti-entropy round; see :mod:`chordshare.node.records.repair`."""
        self.repair_wanted.clear()
        return await self.repairer.run()

    async def network_names(self, after: str = "", limit: int = 100) -> list[str]:
        """Names known anywhere in the network (:func:`.search.network_names`)."""
        return await network_names(self, after, limit)

    async def search(self, query: str) -> SearchResult:
        """The names with every word of ``query`` (:func:`.search.search`)."""
        return await search(self, query)

    # -- helpers --------------------------------------------------------------------------

    async def _store_at(self, peer: PeerRef, records: list[FileRecord], replicate: bool) -> None:
        if peer.id == self.me.id:
            await self.store_records(records, replicate)
        else:
            await self.client.store_records(peer, records, replicate)

    async def _get_at(self, peer: PeerRef, name: str) -> list[FileRecord]:
        if peer.id == self.me.id:
            return await self.get_records(name)
        return await self.client.get_records(peer, name)
