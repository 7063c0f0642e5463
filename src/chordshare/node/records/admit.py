"""Which incoming provider entries a record holder admits: only what the provider vouches for.

Anyone may send entries, and an expiry is bounded but not proven, so a holder believes an entry
that would change what it stores only when the provider itself confirms it, at the address the
entry names, through ``Provides`` (:class:`~chordshare.node.records.confirm.ProviderChecks`,
cached):

* an entry that only refreshes a listed one (same node, state, pinned flag, address and URI)
  is admitted without a call, and so is one that changes nothing (it expires no later than the
  listed one, so the merge would keep the listed one anyway);
* a new or changed *offered* entry is admitted if the node at its address answers with the
  entry's node id and "holds it";
* a new or changed *tombstone* is admitted if that node answers "does not hold it", answers
  with another id, or does not answer at all: a dead holder can be withdrawn by anyone (the
  byte repair does it), a live honest holder only by itself.

A full record (``MAX_PROVIDERS_PER_RECORD`` entries) gives a confirmed newcomer the slot of an
entry that does not confirm: tombstones first, then entries whose provider said "no" lately,
then up to :data:`EVICTION_PROBES` entries not asked within ``CONFIRM_TTL`` are asked again. If
every listed entry still confirms, the newcomer is dropped: a flood never evicts a live provider
that answered. Each batch asks each (provider, variant) at most once, concurrently and capped.

Word entries (:mod:`chordshare.model.words`) are admitted by the same rules: the provider is
asked about the *variant* the entry indexes (``Provides`` of its name and content hash), and the
entry's word must be one of the name's indexed words (checked with the record's shape), so
nobody can file a name under a word for a provider that does not hold it, or under a word the
name lacks.

A node is listed as a new provider only while it is listed in fewer than
``MAX_RECORDS_PER_PROVIDER`` name records here (in fewer than ``MAX_WORDS_PER_NAME`` times as
many word entries, for a word entry): one live node vouching for itself cannot fill a holder's
store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace

from chordshare.model.limits import MAX_CLOCK_SKEW
from chordshare.model.manifest import FileRecord, Provider
from chordshare.model.records import (
    MAX_PROVIDERS_PER_RECORD,
    MAX_RECORDS_PER_PROVIDER,
    RecordKey,
    clamp_expiry,
)
from chordshare.model.words import MAX_WORDS_PER_NAME
from chordshare.node.records.confirm import ProviderChecks
from chordshare.storage.records.store import RecordStore

log = logging.getLogger(__name__)

EVICTION_PROBES = 4
"""Listed entries of one full record asked again at most per batch, to find one a confirmed
newcomer may replace: a flood at a full record costs its holder a few calls, not 64."""

_Question = tuple[int, str, RecordKey]


Change = tuple[str, FileRecord, Provider]
"""``("record.added" | "record.removed", record, provider entry)``: a name record's provider
entry that a merge makes offered where it was not listed or withdrawn, or withdrawn where it
was offered (refreshes of an unchanged entry and word entries are not changes)."""


async def accepted(
    store: RecordStore,
    records: Sequence[FileRecord],
    provider_ttl: float,
    checks: ProviderChecks,
    changes: list[Change] | None = None,
) -> list[FileRecord]:
    """What of ``records`` (already checked for shape) a holder merges into ``store``: expiries
    clamped to ``now + provider_ttl + MAX_CLOCK_SKEW``, then only the entries the providers
    confirm (see the module text). Listed entries that lose their slot to a confirmed newcomer
    are discarded from ``store`` here. Used for pushes (StoreRecords) and pulls alike. The
    admitted entries that change what the record offers are appended to ``changes``."""
    now = store.now()
    latest = now + provider_ttl + MAX_CLOCK_SKEW
    incoming = [clamp_expiry(r, latest) for r in records]
    listed: dict[RecordKey, dict[int, Provider]] = {}
    for word, name in dict.fromkeys((r.word, r.name) for r in incoming):
        for r in await store.held(word, name):
            listed[RecordKey.of(r)] = {p.node_id: p for p in r.providers}

    questions: dict[_Question, tuple[Provider, RecordKey, bool | None]] = {}
    for record in incoming:
        key = RecordKey.of(record)
        current = listed.get(key, {})
        for p in record.providers:
            if p.expires_at > now and not _free(current.get(p.node_id), p):
                q = (p.node_id, p.grpc_address, key.variant)
                # The cached answer that would drop the entry is the one worth asking again
                # ("no" for an offered entry, "yes" for a tombstone); none if both are here.
                drop_on = not p.offered
                if q in questions and questions[q][2] != drop_on:
                    drop_on_or_none: bool | None = None
                else:
                    drop_on_or_none = drop_on
                questions[q] = (p, key.variant, drop_on_or_none)
    answers = await _ask(checks, questions)
    # records (or word entries) a node joining one here is already listed in
    announced: dict[tuple[int, bool], int] = {}

    out: list[FileRecord] = []
    evicted: list[FileRecord] = []
    dropped = 0
    probes: dict[RecordKey, int] = {}
    # Entries are judged against what was stored (as the questions were); ``slots`` also
    # counts the newcomers admitted in this batch, to keep each record within its cap.
    slots: dict[RecordKey, dict[int, Provider]] = {}
    for record in incoming:
        key = RecordKey.of(record)
        before = listed.get(key, {})
        current = slots.setdefault(key, dict(before))
        kept: list[Provider] = []
        for p in record.providers:
            old = before.get(p.node_id)
            if p.expires_at <= now or _free(old, p):
                kept.append(p)
                continue
            if answers[(p.node_id, p.grpc_address, key.variant)] != p.offered:
                dropped += 1
                continue
            if old is None and p.offered:
                count = (p.node_id, bool(record.word))
                if count not in announced:
                    announced[count] = await store.entries_of(p.node_id, words=count[1])
                cap = MAX_RECORDS_PER_PROVIDER * (MAX_WORDS_PER_NAME if count[1] else 1)
                if announced[count] >= cap:
                    dropped += 1
                    continue
                announced[count] += 1
            if p.node_id not in current and len(current) >= MAX_PROVIDERS_PER_RECORD:
                loser = await _slot(checks, key.variant, current, now, probes)
                if loser is None:
                    dropped += 1
                    continue
                del current[loser.node_id]
                evicted.append(replace(record, providers=(loser,)))
            current[p.node_id] = p
            kept.append(p)
            if (
                changes is not None
                and not record.word
                and p.offered != (old is not None and old.offered)
            ):
                changes.append(("record.added" if p.offered else "record.removed", record, p))
        if kept:
            out.append(record if len(kept) == len(record.providers) else _with(record, kept))
    if dropped:
        log.debug("dropped %d provider entries their providers did not confirm", dropped)
    if evicted:
        await store.discard(evicted)
    return out


def _free(old: Provider | None, new: Provider) -> bool:
    """Whether ``new`` may be merged without asking: it refreshes ``old`` unchanged, or the
    merge would keep ``old`` anyway."""
    if old is None:
        return False
    if new.expires_at <= old.expires_at:
        return True
    return (old.withdrawn, old.pinned, old.grpc_address, old.uri) == (
        new.withdrawn,
        new.pinned,
        new.grpc_address,
        new.uri,
    )


async def _ask(
    checks: ProviderChecks, questions: dict[_Question, tuple[Provider, RecordKey, bool | None]]
) -> dict[_Question, bool]:
    """Every question answered once, concurrently (``checks`` caps the calls in flight)."""
    items = list(questions.items())
    got = await asyncio.gather(*(checks.confirms(p, k, doubt=d) for _, (p, k, d) in items))
    return {q: a for (q, _), a in zip(items, got, strict=True)}


async def _slot(
    checks: ProviderChecks,
    key: RecordKey,
    current: dict[int, Provider],
    now: float,
    probes: dict[RecordKey, int],
) -> Provider | None:
    """A listed entry of a full record that may give its slot to a confirmed newcomer, or
    ``None`` when every listed entry still stands. ``probes``: calls made per record in this
    batch, at most :data:`EVICTION_PROBES`."""
    entries = sorted(current.values(), key=lambda p: p.expires_at)
    for p in entries:
        if p.withdrawn or p.expires_at <= now:
            return p
    unasked = []
    for p in entries:
        answer = checks.cached(p, key)
        if answer is False:
            return p
        if answer is None:
            unasked.append(p)
    sample = unasked[: max(0, EVICTION_PROBES - probes.get(key, 0))]
    probes[key] = probes.get(key, 0) + len(sample)
    answers = await asyncio.gather(*(checks.confirms(p, key) for p in sample))
    for p, answer in zip(sample, answers, strict=True):
        if not answer:
            return p
    return None


def _with(record: FileRecord, providers: list[Provider]) -> FileRecord:
    return replace(record, providers=tuple(providers))
