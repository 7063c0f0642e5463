"""Which incoming provider entries a record holder admits, so that a flood cannot evict.

The store keeps at most ``MAX_PROVIDERS_PER_RECORD`` entries per record, the latest-expiring
ones. Anyone may send entries, and an expiry is bounded but not proven (every forged entry can
claim the latest allowed one), so on its own that rule lets 64 invented entries push every
honest provider out. Before merging, a holder therefore admits into a record:

* every entry for a node the record already lists (a provider's refresh or its tombstone, and a
  replica's copy of either: the merge keeps the latest per node as before);
* entries for new nodes only while the record has room, in the order they arrived.

A full record thus never gives up a live entry for a newcomer; entries leave it only by expiry,
one TTL after their provider last refreshed them, and their slots then go to whoever announces
next. A flood can still occupy a record's free slots for one TTL (until the forger stops
refreshing), but no longer remove a provider that keeps announcing itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from chordshare.model.limits import MAX_CLOCK_SKEW
from chordshare.model.manifest import FileRecord
from chordshare.model.records import MAX_PROVIDERS_PER_RECORD, RecordKey, clamp_expiry
from chordshare.storage.records.store import RecordStore


async def accepted(
    store: RecordStore, records: Sequence[FileRecord], provider_ttl: float
) -> list[FileRecord]:
    """What of ``records`` (already checked for shape) a holder merges into ``store``: expiries
    clamped to ``now + provider_ttl + MAX_CLOCK_SKEW`` and entries filtered by
    :func:`admitted`. Used for pushes (StoreRecords) and pulls (FetchRange) alike."""
    latest = store.now() + provider_ttl + MAX_CLOCK_SKEW
    out: list[FileRecord] = []
    variants: dict[str, dict[RecordKey, list[int]]] = {}
    for record in records:
        if record.name not in variants:
            variants[record.name] = {
                RecordKey.of(r): [p.node_id for p in r.providers]
                for r in await store.get(record.name)
            }
        key = RecordKey.of(record)
        stored = variants[record.name].setdefault(key, [])
        kept = admitted(clamp_expiry(record, latest), stored)
        if kept is not None:
            out.append(kept)
            stored.extend(p.node_id for p in kept.providers if p.node_id not in stored)
    return out


def admitted(record: FileRecord, stored: Iterable[int]) -> FileRecord | None:
    """``record`` with only the entries its holder admits, given the node ids of the live
    entries ``stored`` for the same record; ``None`` when none is admitted."""
    present = set(stored)
    room = max(0, MAX_PROVIDERS_PER_RECORD - len(present))
    kept = []
    for p in record.providers:
        if p.node_id in present:
            kept.append(p)
        elif room > 0:
            kept.append(p)
            room -= 1
    if not kept:
        return None
    if len(kept) == len(record.providers):
        return record
    return replace(record, providers=tuple(kept))
