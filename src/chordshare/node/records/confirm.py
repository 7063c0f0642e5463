"""Choosing among the variants of a name by providers that answer for themselves.

Anyone may store a record, so neither the number of provider entries nor their flags say who
really serves a variant: a forgery can list 64 invented providers. Before a downloader picks a
variant, :class:`ProviderChecks` asks a bounded sample of each variant's providers, at the
address the entry names, whether they provide that variant (``Provides``); an entry counts as
*confirmed* only when the node at that address answers with the entry's node id and "yes". An
honest node answers "yes" only for what it holds, so an attacker confirms at most its own live
nodes, whatever it lists. Variants are then ranked by confirmed providers; the number of
entries only breaks ties (and orders them when nobody could be asked).

Record holders ask the same question before they admit a new or changed entry
(:mod:`chordshare.node.records.admit`), through the same cache. Answers are cached for
:data:`CONFIRM_TTL` seconds on the node's monotonic clock, at most :data:`MAX_CACHED` of them, the
oldest dropped first; at most :data:`MAX_CONCURRENT_CALLS` calls are in flight at once, and
one question asked while the same one is in flight waits for that call's answer instead of
asking again (batches that reach a holder together, a name record and its word entries, ask
each provider once between them).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace

from chordshare.clock import Clock
from chordshare.errors import PeerError
from chordshare.model.manifest import FileRecord, Provider
from chordshare.model.records import RecordKey
from chordshare.ring import PeerRef
from chordshare.transport.ports.records import RecordClient

log = logging.getLogger(__name__)

PROBES_PER_FIND = 32
"""Provides calls one choice makes at most, spread evenly over the variants (all concurrent,
each bounded by the client's short Provides deadline)."""

CONFIRM_TTL = 60.0
"""Seconds an answer is reused: a provider that stopped serving is believed for at most this
long, and repeated downloads of a popular name do not ask its providers every time."""

MAX_CACHED = 4096
"""Cached answers at most (~100 bytes each)."""

MAX_CONCURRENT_CALLS = 16
"""Provides calls in flight at once from one node: a batch of records naming many unknown
providers (a flood, or a repair after a partition) costs at most this many sockets at a time,
each call bounded by the client's short deadline."""

RECHECK_AFTER = 5.0
"""Seconds a cached "no" is reused by a holder about to drop an offered entry on it (see
:meth:`ProviderChecks.confirms`): a provider that just started serving is believed within
seconds, while a flood of entries for a live node that does not hold the variant costs one call
per few seconds. A cached "yes" that would drop a tombstone is never reused: withdrawals are rare,
and a node that stopped serving a moment after it was asked must still be able to withdraw."""


class ProviderChecks:
    """Asks providers whether they provide a variant, with a bounded cache of the answers."""

    def __init__(
        self,
        me: PeerRef,
        client: RecordClient,
        clock: Clock,
        local: Callable[[RecordKey], bool],
        rng: random.Random | None = None,
    ) -> None:
        """``local``: whether this node itself provides a variant (asked instead of a call
        when an entry names this node)."""
        self.me = me
        self.local = local
        self.client = client
        self.clock = clock
        self.rng = rng or random.Random()
        self._cache: OrderedDict[tuple[int, str, RecordKey], tuple[float, bool]] = OrderedDict()
        """(provider id, address, variant) -> (when asked, answer)."""
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_CALLS)
        self._asking: dict[tuple[int, str, RecordKey], asyncio.Task[bool]] = {}
        """Questions in flight: their calls run as tasks of their own, so a caller cancelled
        while it waits cancels nobody else's answer."""
        self.calls = 0
        """Provides calls made so far (a figure for tests and metrics)."""

    async def rank(self, variants: Sequence[FileRecord]) -> list[FileRecord]:
        """``variants`` most confirmed providers first (then most entries, then by hash), each
        with its confirmed providers first (:meth:`confirmed_first`). One variant is not
        probed: there is no choice to protect, and the download verifies every piece against
        its manifest anyway."""
        ordered = sorted(variants, key=lambda r: (-len(r.providers), r.manifest.content_hash))
        if len(ordered) >= 2:
            share = max(1, PROBES_PER_FIND // len(ordered))
            counts = await asyncio.gather(*(self._confirmed(r, share) for r in ordered))
            score = {id(r): n for r, n in zip(ordered, counts, strict=True)}
            ordered.sort(key=lambda r: -score[id(r)])  # stable: ties keep the old order
        return [self.confirmed_first(r) for r in ordered]

    def confirmed_first(self, record: FileRecord) -> FileRecord:
        """``record`` with the providers that confirmed it lately first, then the ones not
        asked, then the ones that said no (by cached answers only, no calls): a downloader
        takes its sources in this order, so it tries providers that answered first."""
        key = RecordKey.of(record)

        def rank(p: Provider) -> int:
            answer = self.cached(p, key)
            return 0 if answer else 1 if answer is None else 2

        providers = tuple(sorted(record.providers, key=rank))  # stable
        return record if providers == record.providers else replace(record, providers=providers)

    async def _confirmed(self, record: FileRecord, probes: int) -> int:
        key = RecordKey.of(record)
        providers = list(record.providers)
        sample = providers if len(providers) <= probes else self.rng.sample(providers, probes)
        answers = await asyncio.gather(*(self.confirms(p, key) for p in sample))
        return sum(answers)

    def cached(self, provider: Provider, key: RecordKey) -> bool | None:
        """The answer ``provider`` gave for ``key`` within :data:`CONFIRM_TTL`, or ``None``."""
        if self._is_me(provider):
            return self.local(key)
        hit = self._cache.get((provider.node_id, provider.grpc_address, key))
        if hit is None or self.clock.now() - hit[0] >= CONFIRM_TTL:
            return None
        return hit[1]

    async def confirms(
        self, provider: Provider, key: RecordKey, *, doubt: bool | None = None
    ) -> bool:
        """Whether the node at ``provider.grpc_address`` says it is ``provider.node_id`` and
        provides ``key``; a node that does not answer does not confirm. ``doubt``: the answer
        on which the caller would drop an entry; a cached "no" equal to it is reused only for
        :data:`RECHECK_AFTER` seconds, a cached "yes" equal to it not at all."""
        if self._is_me(provider):
            return self.local(key)
        cache_key = (provider.node_id, provider.grpc_address, key)
        now = self.clock.now()
        cached = self._cache.get(cache_key)
        if cached is not None:
            asked, answer = cached
            limit = CONFIRM_TTL if answer != doubt else 0.0 if answer else RECHECK_AFTER
            if now - asked < limit:
                return answer
        asking = self._asking.get(cache_key)
        if asking is None or doubt is True:
            # A would-be tombstone is never settled by a call that began before it came.
            asking = asyncio.ensure_future(self._ask(provider, key))
            self._asking[cache_key] = asking
            asking.add_done_callback(lambda done: self._asked(cache_key, done))
        return await asyncio.shield(asking)

    async def _ask(self, provider: Provider, key: RecordKey) -> bool:
        peer = PeerRef(provider.node_id, provider.grpc_address)
        async with self._slots:
            self.calls += 1
            try:
                node_id, provides = await self.client.provides(peer, key)
            except PeerError as exc:
                log.debug("provider %s of %r did not answer: %s", peer.grpc_address, key.name, exc)
                answer = False
            else:
                answer = provides and node_id == provider.node_id
        cache_key = (provider.node_id, provider.grpc_address, key)
        self._cache[cache_key] = (self.clock.now(), answer)
        self._cache.move_to_end(cache_key)
        while len(self._cache) > MAX_CACHED:
            self._cache.popitem(last=False)
        return answer

    def _asked(self, cache_key: tuple[int, str, RecordKey], done: asyncio.Task[bool]) -> None:
        if self._asking.get(cache_key) is done:
            del self._asking[cache_key]

    def _is_me(self, provider: Provider) -> bool:
        return provider.node_id == self.me.id and provider.grpc_address == self.me.grpc_address
