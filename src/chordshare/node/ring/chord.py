"""A Chord node: the RPC handlers other nodes call, and the maintenance algorithms it runs.

Maintenance follows Zave's corrected protocol (IEEE TSE 2017): a joining node copies a member's
successor list; ``stabilize`` adopts ``[succ] + succ.successor_list`` and drops dead successors
(successor-list repair); ``rectify`` replaces ``notify``; graceful leave tells both neighbours.
Everything talks to peers through :class:`PeerClient`, so the same code runs over gRPC, in
memory and in the simulator.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection

from chordshare.clock import Clock
from chordshare.errors import InvalidInput, LookupFailed, PeerError
from chordshare.node.events import EventHub
from chordshare.node.ring import membership
from chordshare.node.ring.checks import PeerChecks
from chordshare.node.ring.lookup import IterativeLookup, LookupResult, hop_limit
from chordshare.node.ring.observe import RingObserver, observed
from chordshare.node.ring.settings import RingSettings
from chordshare.node.ring.shortcut import OwnerCache
from chordshare.node.ring.stats import NodeStats
from chordshare.ring import (
    HashedAddress,
    IdentityRule,
    IdSpace,
    NextHop,
    PeerRef,
    RoutingTable,
    in_half_open,
    in_open,
)
from chordshare.transport.ports.ring import NodeInfo, PeerClient

log = logging.getLogger(__name__)

PING_ATTEMPTS = 2
"""Unanswered pings before a neighbour is declared dead: one lost message is not a crash, and two
in a row on a network losing 10% of messages happen 1% of the time (and then stabilize re-learns
the neighbour from its successor's predecessor)."""

WALK_LIMIT = 32
"""Predecessor pointers one stabilize round follows back (one call each, each strictly closer
to us); a longer chain is walked on in the next round."""


class ChordNode:
    """One member of the ring. Implements :class:`chordshare.transport.ports.ring.RingService`."""

    def __init__(
        self,
        space: IdSpace,
        me: PeerRef,
        client: PeerClient,
        clock: Clock,
        settings: RingSettings | None = None,
        *,
        identity: IdentityRule | None = None,
        events: EventHub | None = None,
    ) -> None:
        """``identity`` is the rule a claimed id must satisfy (default: the id is SHA-1 of the
        advertised address, as ``IdSpace.node_id`` makes it). ``events``: where this node's
        events go (default: a hub of its own); other parts of the node publish there too."""
        self.space = space
        self.me = me
        self.client = client
        self.clock = clock
        self.settings = settings or RingSettings()
        self.table = RoutingTable(space, me, self.settings.successor_list_size)
        self.events = events if events is not None else EventHub()
        self.observer = RingObserver(space, self.table, self.events)
        self.stats = NodeStats()
        self.checks = PeerChecks(me, client, clock, identity or HashedAddress(space))
        self.owners = OwnerCache(
            space,
            clock,
            vouch_ttl=self.settings.stabilize_interval,
            changes=lambda: self.observer.changes,
        )
        """Arcs seen owned (only used with ``settings.owner_cache``)."""
        self._next_finger = 0
        self.left = False
        self.predecessor_listeners: list[Callable[[PeerRef | None, PeerRef | None], None]] = []

    def __repr__(self) -> str:
        return f"ChordNode({self.space.short(self.me.id)} @ {self.me.grpc_address})"

    # -- RingService: answers to other nodes -------------------------------------------------

    async def get_node_info(self) -> NodeInfo:
        return NodeInfo(
            self.me, self.table.predecessor, self.table.successors.peers(), leaving=self.left
        )

    async def find_successor_step(self, key: int, exclude: Collection[int]) -> NextHop:
        return self._step(self._valid_id(key), exclude)

    @observed
    async def rectify(self, candidate: PeerRef) -> None:
        """Zave's ``rectify``: adopt ``candidate`` as predecessor if it is closer than the current
        one, or if the current one is gone.

        A candidate whose id does not derive from its address is refused (InvalidInput); one
        that does is adopted only once it answered at that address with that id."""
        self._valid_id(candidate.id)
        if not self.checks.derives(candidate):
            raise InvalidInput(
                f"peer id {self.space.short(candidate.id)} does not derive from its address "
                f"{candidate.grpc_address!r}"
            )
        current = self.table.predecessor
        if current is not None and current.id == candidate.id:
            return
        if self.table.should_rectify(candidate, predecessor_alive=True):
            if not await self.checks.confirmed(candidate):
                log.warning("ignored rectify by %s: it does not answer for itself", candidate)
                return
            self._set_predecessor(candidate)
            self._learn_if_alone(candidate)
            return
        assert current is not None  # should_rectify adopts when there is no predecessor
        if not await self._alive(current) and await self.checks.confirmed(candidate):
            self._set_predecessor(candidate)

    @observed
    async def leave_notice(
        self, leaving: PeerRef, predecessor: PeerRef | None, successors: tuple[PeerRef, ...]
    ) -> None:
        """A neighbour leaves gracefully: splice it out (its successor list and predecessor are
        passed along so that no stabilize round is lost).

        Only the leaving node itself may say so: it is called back at its address, and the
        notice is acted on only if the node there is the one named and reports that it is
        leaving. A notice that fails the check is ignored (a node that really left, or died, is
        found out by the usual failure detection instead)."""
        if not await self._confirms_leaving(leaving):
            log.warning("ignored a leave notice for %s: it does not confirm it", leaving)
            return
        was_successor = self.table.successor.id == leaving.id
        was_predecessor = (
            self.table.predecessor is not None and self.table.predecessor.id == leaving.id
        )
        self.table.forget(leaving.id)
        self.observer.dead(leaving, "left")
        if was_successor:
            rest = await self.checks.keep(p for p in successors if p.id != leaving.id)
            if rest:
                self.table.successors.adopt(rest[0], rest[1:])
        if was_predecessor:
            replacement = predecessor if predecessor and predecessor.id != self.me.id else None
            if replacement is not None and not await self.checks.confirmed(replacement):
                replacement = None
            self._set_predecessor(replacement)
        if self.table.alone and self.table.predecessor is not None:
            self._set_predecessor(None)

    async def _confirms_leaving(self, leaving: PeerRef) -> bool:
        if leaving.id == self.me.id:
            return False
        try:
            info = await self.client.get_node_info(leaving)
        except PeerError:
            return False
        return self.checks.saw(leaving, info) and info.leaving

    async def ping(self) -> None:
        return None

    # -- lookups ----------------------------------------------------------------------------

    def _step(self, key: int, exclude: Collection[int]) -> NextHop:
        return self.table.next_hop(
            key, exclude, use_successor_list=self.settings.use_successor_list_routing
        )

    def estimated_ring_size(self) -> int:
        return self.table.successors.ring_size_estimate()

    async def find_successor(
        self,
        key: int,
        start: PeerRef | None = None,
        *,
        confirm: bool | None = None,
        routed: bool = False,
    ) -> LookupResult:
        """The owner of ``key``, found iteratively from ``start`` (default: here); ``confirm=False``
        skips the owner confirmation, ``routed`` the owner cache (to show a real path)."""
        lookup = IterativeLookup(
            self.space,
            self.client,
            self.me,
            self._step,
            max_hops=hop_limit(self.estimated_ring_size()),
            failover=self.settings.lookup_failover,
            confirm=confirm,
            on_peer_failed=self._finger_failed,
            derives=self.checks.derives,
            own_successors=self.table.successors.peers,
            own_predecessor=lambda: self.table.predecessor,
            cache=self.owners if self.settings.owner_cache and not (start or routed) else None,
        )
        try:
            result = await lookup.run(key, start)
        except LookupFailed:
            self.stats.lookups_failed += 1
            raise
        self.stats.record_lookup(result.hops)
        return result

    async def lookup_key(self, key: str | bytes, *, routed: bool = False) -> LookupResult:
        return await self.find_successor(self.space.hash_key(key), routed=routed)

    # -- joining and leaving ----------------------------------------------------------------

    @observed
    async def join(self, seed: PeerRef) -> None:
        """Join the ring through ``seed`` (see :func:`membership.join`)."""
        await membership.join(self, seed)

    async def leave(self) -> None:
        """Graceful leave (see :func:`membership.leave`)."""
        await membership.leave(self)

    # -- maintenance (run periodically by the service, or stepped by tests) ---------------------

    @observed
    async def stabilize(self) -> None:
        """Verify our successor, adopt its predecessor if that lies between us, copy its list,
        and rectify it. Dead successors are dropped and the next one is tried."""
        if self.table.alone:
            if self.table.predecessor is None:
                return
            # Someone joined a lone node: its predecessor is also its successor.
            self.table.successors.adopt(self.table.predecessor, ())
        for _ in range(self.settings.successor_list_size + 2):  # bounded: each pass drops one
            if self.table.alone:
                break
            succ = self.table.successor
            try:
                info = await self.client.get_node_info(succ)
            except PeerError:
                await self._suspect(succ)
                continue
            if not self.checks.saw(succ, info):
                # something else answers at that address now: it is not our successor
                self.table.forget(succ.id)
                self.observer.dead(succ, "replaced")
                continue
            succ, info = await self._walk_back(succ, info)
            self.table.successors.adopt(succ, await self.checks.keep(info.successors))
            break
        if self.table.alone and not await self._recover_successor():
            return
        await self.rectify_successor()

    @observed
    async def fix_fingers(self) -> None:
        """Refresh up to ``fingers_per_round`` fingers, skipping fingers that share a successor."""
        succ = self.table.successor
        if self.table.alone:
            return
        for _ in range(self.settings.fingers_per_round):
            i = self._next_finger
            start = self.table.fingers.start(i)
            if in_half_open(start, self.me.id, succ.id, self.space.size):
                self._next_finger = self.table.fingers.fill_from(i, succ) % self.space.bits
                continue
            try:
                # a finger is a routing hint, checked by every lookup that uses it: no need to
                # confirm its owner (saves one call per finger refresh)
                found = await self.find_successor(start, confirm=False)
            except LookupFailed:
                return
            if found.owner.id == self.me.id:
                # start lies between our predecessor and us: no finger beyond this point.
                for j in range(i, self.space.bits):
                    self.table.fingers.set(j, None)
                self._next_finger = 0
                continue
            if not await self.checks.confirmed(found.owner):
                return  # a finger is adopted only from a peer that answers for itself
            self._next_finger = self.table.fingers.fill_from(i, found.owner) % self.space.bits

    @observed
    async def check_predecessor(self) -> None:
        pred = self.table.predecessor
        if pred is not None and not await self._alive(pred):
            log.info("predecessor %s is gone", self.name(pred))
            self._set_predecessor(None)
            self.observer.dead(pred, "failed")

    @observed
    async def merge_through(self, seed: PeerRef) -> bool:
        """Heal a split ring through ``seed`` (see :func:`membership.merge_through`)."""
        return await membership.merge_through(self, seed)

    # -- helpers ----------------------------------------------------------------------------

    async def _walk_back(self, succ: PeerRef, info: NodeInfo) -> tuple[PeerRef, NodeInfo]:
        """Follow predecessor pointers back from our successor while they lie between us and
        it (the paper's stabilize takes one such step per round, so k nodes that joined at once
        before one successor took k rounds); each node on the way answers for itself."""
        for _ in range(WALK_LIMIT):
            candidate = info.predecessor
            if candidate is None or candidate.id == self.me.id:
                break
            if not in_open(candidate.id, self.me.id, succ.id, self.space.size):
                break
            closer = await self._answer_of(candidate)
            if closer is None:
                self.table.fingers.remove(candidate.id)
                break
            succ, info = candidate, closer
        return succ, info

    async def _recover_successor(self) -> bool:
        """Every successor failed: fall back on the nearest live peer we still know (fingers,
        predecessor). Stabilize then rebuilds the list from it."""
        fallbacks = [*self.table.fingers.peers()]
        if self.table.predecessor is not None:
            fallbacks.append(self.table.predecessor)
        fallbacks.sort(key=lambda p: self.space.distance(self.me.id, p.id))
        for peer in fallbacks:
            info = await self._answer_of(peer)
            if info is None:
                self._finger_failed(peer)
                continue
            self.table.successors.adopt(peer, await self.checks.keep(info.successors))
            return True
        return False

    async def _answer_of(self, peer: PeerRef) -> NodeInfo | None:
        """``peer``'s node info if it answers at its address with its own id, else None."""
        try:
            info = await self.client.get_node_info(peer)
        except PeerError:
            return None
        return info if self.checks.saw(peer, info) else None

    async def rectify_successor(self) -> None:
        """Tell our successor about us (Zave's rectify); a failure waits for the next round."""
        succ = self.table.successor
        if succ.id == self.me.id:
            return
        try:
            await self.client.rectify(succ, self.me)
        except PeerError as exc:
            log.debug("rectify %s failed (%s); the next stabilize checks it", self.name(succ), exc)

    async def _alive(self, peer: PeerRef) -> bool:
        """Failure detection by deadline: dead after ``PING_ATTEMPTS`` unanswered pings, so a
        single lost message does not evict a live neighbour."""
        for _ in range(PING_ATTEMPTS):
            try:
                await self.client.ping(peer)
            except PeerError:
                continue
            return True
        return False

    async def _suspect(self, peer: PeerRef) -> bool:
        """A call to ``peer`` failed: forget it everywhere if it is really gone; returns that."""
        self.table.fingers.remove(peer.id)
        if await self._alive(peer):
            return False
        self.stats.peers_failed += 1
        self.table.forget(peer.id)
        self.observer.dead(peer, "failed")
        return True

    def _finger_failed(self, peer: PeerRef) -> None:
        """A lookup hop failed: fingers are hints, drop it there; successors and predecessor are
        only dropped by the checks that confirm a death (stabilize, check_predecessor)."""
        self.stats.peers_failed += 1
        self.table.fingers.remove(peer.id)

    def _learn_if_alone(self, peer: PeerRef) -> None:
        if self.table.alone:
            self.table.successors.adopt(peer, ())

    def _set_predecessor(self, peer: PeerRef | None) -> None:
        old = self.table.predecessor
        self.table.predecessor = peer
        if (None if old is None else old.id) != (None if peer is None else peer.id):
            for listener in self.predecessor_listeners:
                listener(old, peer)

    def _valid_id(self, ident: int) -> int:
        """An id from another node: outside the ring is the caller's fault (InvalidInput)."""
        try:
            return self.space.check(ident)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from exc

    def name(self, peer: PeerRef) -> str:
        """A peer as logs show it: short id and address."""
        return f"{self.space.short(peer.id)}@{peer.grpc_address}"
