"""Ping-back: a peer named by someone else is believed only once it answered for itself.

A claim (a ``Rectify`` candidate, an entry of someone's successor list, a lookup's owner) names
an id and an address. The claim must first pass the pure identity rule (the id derives from the
address); then the address is called back with ``GetNodeInfo`` and must answer with that id.
Positive answers are cached on the node's clock for ``CONFIRM_TTL`` seconds (so a stable ring
asks each neighbour once per TTL, not once per round), answers with another id for
``REFUSE_TTL`` seconds; the cache is bounded.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable

from chordshare.clock import Clock
from chordshare.errors import PeerError
from chordshare.ring import IdentityRule, PeerRef
from chordshare.transport.ports.ring import NodeInfo, PeerClient

CONFIRM_TTL = 300.0
"""Seconds a successful ping-back is trusted. An id that derives from its address can only be
answered for by whoever listens at that address, so the answer stays good until that process is
replaced; failure detection (stabilize, check_predecessor) finds a dead one meanwhile."""

REFUSE_TTL = 10.0
"""Seconds an answer with another id is remembered: long enough not to ask again every
stabilize round, short enough that a restarted node is soon accepted. Unanswered calls are not
remembered (a lost message is not a refusal)."""

PING_ATTEMPTS = 2
"""Calls before a ping-back counts as unanswered: one lost message does not drop a live peer."""

CACHE_SIZE = 4096
"""Peers remembered; a node's routing state holds about log2 N + r of them."""


class PeerChecks:
    """The node's record of which claimed peers answered for themselves."""

    def __init__(
        self,
        me: PeerRef,
        client: PeerClient,
        clock: Clock,
        rule: IdentityRule,
        *,
        ttl: float = CONFIRM_TTL,
        refuse_ttl: float = REFUSE_TTL,
        capacity: int = CACHE_SIZE,
    ) -> None:
        self.me = me
        self.client = client
        self.clock = clock
        self.rule = rule
        self.ttl = ttl
        self.refuse_ttl = refuse_ttl
        self.capacity = capacity
        self._known: OrderedDict[tuple[int, str], tuple[bool, float]] = OrderedDict()
        self.pings = 0
        """Ping-backs sent (the cost of the checks)."""

    def derives(self, peer: PeerRef) -> bool:
        """The pure check: this node itself, or an id that derives from its address."""
        if peer.id == self.me.id:
            return peer.grpc_address == self.me.grpc_address
        return self.rule.derives(peer)

    def saw(self, asked: PeerRef, info: NodeInfo) -> bool:
        """``asked`` was called and answered with ``info``: whether it answered for itself (and
        remember it when so)."""
        good = info.peer.id == asked.id and self.derives(asked)
        if good:
            self._remember(asked, True)
        return good

    async def confirmed(self, peer: PeerRef) -> bool:
        """Whether ``peer`` answers at its address with its id (cached)."""
        if peer.id == self.me.id:
            return peer.grpc_address == self.me.grpc_address
        if not self.rule.derives(peer):
            return False
        key = (peer.id, peer.grpc_address)
        cached = self._known.get(key)
        if cached is not None and cached[1] > self.clock.now():
            return cached[0]
        info = None
        for _ in range(PING_ATTEMPTS):
            self.pings += 1
            try:
                info = await self.client.get_node_info(peer)
            except PeerError:
                continue
            break
        if info is None:
            return False  # not remembered: an unanswered call says nothing about who is there
        good = info.peer.id == peer.id
        self._remember(peer, good)
        return good

    async def keep(self, peers: Iterable[PeerRef]) -> list[PeerRef]:
        """The peers of a list that answered for themselves, in order (checked concurrently)."""
        listed = list(peers)
        answers = await asyncio.gather(*(self.confirmed(p) for p in listed))
        return [p for p, good in zip(listed, answers, strict=True) if good]

    def forget(self, peer: PeerRef) -> None:
        self._known.pop((peer.id, peer.grpc_address), None)

    def _remember(self, peer: PeerRef, good: bool) -> None:
        key = (peer.id, peer.grpc_address)
        self._known.pop(key, None)
        self._known[key] = (good, self.clock.now() + (self.ttl if good else self.refuse_ttl))
        while len(self._known) > self.capacity:
            self._known.popitem(last=False)
