"""Moving a key range of records between this node and a peer, one bounded page at a time.

Used by join take-over (pull), hand-off and replica repair (push), and stray hand-over (push,
then forget what the peer acknowledged). Pages are bounded by
:data:`chordshare.model.limits.MAX_RECORDS_PER_CALL` and the node's message budget
(:data:`chordshare.model.limits.RECORD_PAGE_BYTES` by default).
"""

from __future__ import annotations

from collections.abc import Callable

from chordshare.model.limits import (
    DEFAULT_PROVIDER_TTL,
    MAX_RECORDS_PER_CALL,
    RECORD_PAGE_BYTES,
)
from chordshare.model.records import RecordKey
from chordshare.node.records.admit import Change, accepted
from chordshare.node.records.confirm import ProviderChecks
from chordshare.ring import PeerRef
from chordshare.storage.records.store import RecordStore
from chordshare.transport.ports.records import RecordClient

MAX_PAGES = 1 << 16
"""Pages in one transfer at most (16M records): a peer that keeps answering ``more`` with the same
cursor, or a range that keeps growing under us, cannot hold a transfer open forever."""


class RangeSync:
    def __init__(
        self,
        me: PeerRef,
        store: RecordStore,
        client: RecordClient,
        checks: ProviderChecks,
        message_bytes: int = RECORD_PAGE_BYTES,
        provider_ttl: float = DEFAULT_PROVIDER_TTL,
        on_changes: Callable[[list[Change]], None] | None = None,
    ) -> None:
        """``provider_ttl``: pulled entries are clamped to expire at most ``now + provider_ttl
        + MAX_CLOCK_SKEW``, as :meth:`RecordNode.store_records` clamps pushed ones.
        ``checks``: asks providers to confirm pulled entries that are new to this node.
        ``on_changes``: told what each merged page changed (record.added / record.removed)."""
        self.on_changes = on_changes
        self.checks = checks
        self.me = me
        self.provider_ttl = provider_ttl
        self.message_bytes = message_bytes
        self.store = store
        self.client = client

    async def pull(self, peer: PeerRef, start: int, end: int) -> int:
        """Merge ``peer``'s records in ``(start, end]`` into the local store; returns how many
        records were received. Raises ``PeerError`` if the peer fails part-way (what arrived
        before stays: merging is idempotent)."""
        received = 0
        after: RecordKey | None = None
        for _ in range(MAX_PAGES):
            page = await self.client.fetch_range(peer, start, end, after)
            if page.records:
                changes: list[Change] = []
                await self.store.put(
                    await accepted(
                        self.store, page.records, self.provider_ttl, self.checks, changes
                    )
                )
                if self.on_changes is not None and changes:
                    self.on_changes(changes)
                received += len(page.records)
            cursor = page.next_after
            if cursor is None or cursor == after:
                break
            after = cursor
        return received

    async def push(
        self,
        peer: PeerRef,
        start: int,
        end: int,
        *,
        replicate: bool = False,
        forget: bool = False,
    ) -> int:
        """Send the local records in ``(start, end]`` to ``peer``; returns how many were sent.

        With ``forget``, each page is forgotten locally once ``peer`` has acknowledged it (only
        the provider entries sent: a refresh that arrived meanwhile stays). Raises ``PeerError``
        if the peer fails; pages already acknowledged stay sent (and forgotten)."""
        sent = 0
        after: RecordKey | None = None
        for _ in range(MAX_PAGES):
            page = await self.store.range_page(
                start, end, after=after, limit=MAX_RECORDS_PER_CALL, max_bytes=self.message_bytes
            )
            if page.records:
                await self.client.store_records(peer, page.records, replicate)
                sent += len(page.records)
                if forget:
                    await self.store.discard(page.records)
            after = page.next_after
            if after is None:
                break
        return sent
