"""Choosing among the variants of a name by providers that answer for themselves.

Anyone may store a record, so neither the number of provider entries nor their flags say who
really serves a variant: a forgery can list 64 invented providers. Before a downloader picks a
variant, :class:`ProviderChecks` asks a bounded sample of each variant's providers, at the
address the entry names, whether they provide that variant (``Provides``); an entry counts as
*confirmed* only when the node at that address answers with the entry's node id and "yes". An
honest node answers "yes" only for what it holds, so an attacker confirms at most its own live
nodes, whatever it lists. Variants are then ranked by confirmed providers; the number of
entries only breaks ties (and orders them when nobody could be asked).

Answers are cached for :data:`CONFIRM_TTL` seconds on the node's monotonic clock, at most
:data:`MAX_CACHED` of them, the oldest dropped first.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import OrderedDict
from collections.abc import Callable, Sequence

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

    async def rank(self, variants: Sequence[FileRecord]) -> list[FileRecord]:
        """``variants`` most confirmed providers first (then most entries, then by hash). One
        variant is returned as it is: there is no choice to protect, and the download verifies
        every piece against its manifest anyway."""
        ordered = sorted(variants, key=lambda r: (-len(r.providers), r.manifest.content_hash))
        if len(ordered) < 2:
            return ordered
        share = max(1, PROBES_PER_FIND // len(ordered))
        counts = await asyncio.gather(*(self._confirmed(r, share) for r in ordered))
        score = {id(r): n for r, n in zip(ordered, counts, strict=True)}
        return sorted(ordered, key=lambda r: -score[id(r)])  # stable: ties keep the old order

    async def _confirmed(self, record: FileRecord, probes: int) -> int:
        key = RecordKey.of(record)
        providers = list(record.providers)
        sample = providers if len(providers) <= probes else self.rng.sample(providers, probes)
        answers = await asyncio.gather(*(self.confirms(p, key) for p in sample))
        return sum(answers)

    async def confirms(self, provider: Provider, key: RecordKey) -> bool:
        """Whether the node at ``provider.grpc_address`` says it is ``provider.node_id`` and
        provides ``key``; a node that does not answer does not confirm."""
        if provider.node_id == self.me.id and provider.grpc_address == self.me.grpc_address:
            return self.local(key)
        cache_key = (provider.node_id, provider.grpc_address, key)
        now = self.clock.now()
        cached = self._cache.get(cache_key)
        if cached is not None and cached[0] > now:
            return cached[1]
        peer = PeerRef(provider.node_id, provider.grpc_address)
        try:
            node_id, provides = await self.client.provides(peer, key)
        except PeerError as exc:
            log.debug("provider %s of %r did not answer: %s", peer.grpc_address, key.name, exc)
            answer = False
        else:
            answer = provides and node_id == provider.node_id
        self._cache[cache_key] = (now + CONFIRM_TTL, answer)
        self._cache.move_to_end(cache_key)
        while len(self._cache) > MAX_CACHED:
            self._cache.popitem(last=False)
        return answer
