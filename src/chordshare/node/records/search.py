"""Reading the network's index: every name (a ring walk) and the names of given words (a search).

**Search** (:func:`search`) follows Kademlia's keyword search: each query word is a DHT key of
its own whose owner holds the word entries of every name with that word
(:mod:`chordshare.model.words`). The words are asked concurrently (owner first, then its
replicas when the owner is down or has nothing, as :meth:`RecordNode.find` does), each read in
pages of up to :data:`MAX_WORD_ENTRIES` entries, and the name sets are intersected from the
smallest (the rarest word) up. Each name comes with its variants: content hash, size and the
live providers its word entries list.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chordshare.errors import InvalidInput, LookupFailed, PeerError
from chordshare.model.manifest import FileRecord, Provider
from chordshare.model.records import RecordKey
from chordshare.model.words import MAX_QUERY_WORDS, words_of
from chordshare.node.records.holders import key_holders
from chordshare.node.ring.walk import walk_ring
from chordshare.ring import PeerRef
from chordshare.transport.ports.records import MAX_NAMES_PER_CALL

if TYPE_CHECKING:
    from chordshare.node.records.node import RecordNode

log = logging.getLogger(__name__)

MAX_WALK = 4096
"""Nodes visited by :func:`network_names` at most: bounds a walk around a ring whose successor
pointers are briefly inconsistent (a larger ring gets a partial listing)."""

MAX_WORD_ENTRIES = 10_000
"""Word entries read per query word at most (about 40 FindWord pages of 256): a search of a word
as common as ``bin`` in a network of a million names answers from the first 10,000 names in
code point order, and says so (:attr:`SearchResult.truncated`). Rarer words narrow the answer."""


@dataclass(frozen=True, slots=True)
class Variant:
    """One content published under a found name."""

    content_hash: bytes
    size: int
    providers: tuple[Provider, ...]


@dataclass(frozen=True, slots=True)
class SearchHit:
    name: str
    variants: tuple[Variant, ...]
    """Most providers first, then by content hash."""


@dataclass(frozen=True, slots=True)
class SearchResult:
    words: tuple[str, ...]
    """The query's words, as tokenized; the rarest first."""
    hits: tuple[SearchHit, ...]
    """Sorted by name (code point order)."""
    truncated: bool
    """A word had more than :data:`MAX_WORD_ENTRIES` entries: names past them are missing."""


def query_words(query: str) -> tuple[str, ...]:
    """The words of a query (the tokenizer of names); raises InvalidInput when there are none
    or too many."""
    words = words_of(query, limit=MAX_QUERY_WORDS + 1)
    if not words:
        raise InvalidInput(
            f"{query[:80]!r} has no word to search for (words are runs of two or more letters, "
            "or of digits)"
        )
    if len(words) > MAX_QUERY_WORDS:
        raise InvalidInput(f"a search has at most {MAX_QUERY_WORDS} words")
    return words


async def search(rec: RecordNode, query: str) -> SearchResult:
    """The names whose indexed words include every word of ``query``. Raises InvalidInput for a
    query without words, LookupFailed when no holder of some word answered."""
    words = query_words(query)
    found = await asyncio.gather(*(_entries(rec, w) for w in words))
    order = sorted(range(len(words)), key=lambda i: len(found[i][0]))
    names: set[str] | None = None
    merged: dict[RecordKey, dict[int, Provider]] = {}
    sizes: dict[RecordKey, int] = {}
    for i in order:
        entries = found[i][0]
        present = {r.name for r in entries}
        names = present if names is None else names & present
        for r in entries:
            if r.name in names:
                key = RecordKey(r.name, r.manifest.content_hash)
                sizes[key] = r.manifest.size
                slot = merged.setdefault(key, {})
                for p in r.providers:
                    if p.node_id not in slot or p.expires_at > slot[p.node_id].expires_at:
                        slot[p.node_id] = p
    by_name: dict[str, list[Variant]] = {}
    for key, providers in merged.items():
        if names is not None and key.name in names:
            ordered = tuple(sorted(providers.values(), key=lambda p: p.node_id))
            by_name.setdefault(key.name, []).append(Variant(key.content_hash, sizes[key], ordered))
    hits = tuple(
        SearchHit(name, tuple(sorted(vs, key=lambda v: (-len(v.providers), v.content_hash))))
        for name, vs in sorted(by_name.items())
    )
    truncated = any(f[1] for f in found)
    return SearchResult(tuple(words[i] for i in order), hits, truncated)


async def _entries(rec: RecordNode, word: str) -> tuple[list[FileRecord], bool]:
    """The live word entries of ``word`` from its first holder that has any (owner first), and
    whether there were more than :data:`MAX_WORD_ENTRIES`."""
    now = rec.store.now()
    answered = False
    async with aclosing(key_holders(rec.node, rec.key_of(word), rec.replicas)) as holders:
        async for holder in holders:
            try:
                entries, more = await _read(rec, holder, word)
            except PeerError as exc:
                log.info("holder %s of word %r did not answer: %s", holder.grpc_address, word, exc)
                continue
            answered = True
            live = [r for r in (e.live(now) for e in entries) if r.providers]
            if live:
                return live, more
    if not answered:
        raise LookupFailed(f"no holder of the word {word!r} answered")
    return [], False


async def _read(rec: RecordNode, holder: PeerRef, word: str) -> tuple[list[FileRecord], bool]:
    out: list[FileRecord] = []
    after: RecordKey | None = None
    while len(out) < MAX_WORD_ENTRIES:
        if holder.id == rec.me.id:
            page = await rec.find_word(word, after)
        else:
            page = await rec.client.find_word(holder, word, after)
        out.extend(page.records)
        cursor = page.next_after
        if cursor is None or cursor == after:
            return out, False
        after = cursor
    return out[:MAX_WORD_ENTRIES], True


async def network_names(rec: RecordNode, after: str = "", limit: int = 100) -> list[str]:
    """Names known anywhere in the network, sorted, greater than ``after``, at most ``limit``:
    walks the ring along successor lists (:func:`walk_ring`, the walk behind
    ``GET /api/v1/ring``) and asks every node once (O(N) calls, for the REST listing of a small
    network)."""
    if not 1 <= limit <= MAX_NAMES_PER_CALL:
        raise InvalidInput(f"limit must be in 1..{MAX_NAMES_PER_CALL}, got {limit}")
    names = set(await rec.store.list_names(after, limit))
    walk = await walk_ring(rec.node, limit=MAX_WALK)
    for peer in walk.nodes[1:]:
        try:
            names.update(await rec.client.list_names(peer, after, limit))
        except PeerError as exc:
            log.info("skipping %s in the name walk: %s", peer.grpc_address, exc)
    return sorted(names)[:limit]
