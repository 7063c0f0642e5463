"""Iterative lookup (Stoica et al. 2003, section IV.C, made iterative as in section V.A of the
SIGCOMM paper): the caller drives every hop, so it sets the deadline, records the path and hop
count, checks that every hop gets strictly closer to the key, and fails over around dead peers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from chordshare.errors import LookupFailed, PeerError
from chordshare.node.ring.shortcut import OwnerCache
from chordshare.node.ring.vouch import Refused, StepCheck
from chordshare.ring import IdSpace, NextHop, PeerRef, in_half_open, in_open
from chordshare.transport.ports.ring import PeerClient


@dataclass(frozen=True, slots=True)
class LookupResult:
    key: int
    owner: PeerRef
    successors: tuple[PeerRef, ...]
    """Peers after the owner, in ring order (replica holders): the owner's own list when the
    lookup confirmed it, else as the last node asked saw them."""
    hops: int
    """Remote nodes asked (the origin's own routing step is free)."""
    path: tuple[PeerRef, ...]
    timeouts: int = 0
    """Peers that failed to answer during this lookup."""
    cached: bool = False
    """Answered from an arc an earlier lookup confirmed, checked with its ends (no route)."""

    def holders(self) -> list[PeerRef]:
        """The owner, then its successors, each peer once: where the key's data belongs."""
        out: list[PeerRef] = []
        for peer in (self.owner, *self.successors):
            if all(peer.id != p.id for p in out):
                out.append(peer)
        return out


def hop_limit(estimated_nodes: int) -> int:
    """About 2·log2 N (DESIGN.md §4), with slack for stale fingers on a small or young ring."""
    return 2 * math.ceil(math.log2(max(estimated_nodes, 2))) + 4


@dataclass
class _Frame:
    node: PeerRef
    step: NextHop
    tried: set[int] = field(default_factory=set)
    asked_with: int = 0
    """How many peers were excluded when this node was last asked: asking it again only helps
    once more peers are known dead."""


CONFIRM_LIMIT = 4
"""Moves per lookup to an owner's newer predecessor (a node that joined since the responder last
stabilized); more than a few means churn faster than a lookup, and the last answer stands. Dead
entries skipped on the way do not count: each is skipped once, bounded by the list's length."""


class IterativeLookup:
    """One lookup of one key. ``local_step`` answers for the origin without a round trip.

    With ``failover`` (our default) a dead next hop costs a try of the next candidate, a node
    whose candidates all failed is asked again with them excluded (the origin included), and the
    owner named by the last step is confirmed with one ``get_node_info``: a dead owner is
    skipped for the next live entry, and a node that joined just before the owner (the owner's
    new predecessor) is taken when the key falls to it. Without ``failover`` this is the paper's
    lookup: the first dead peer fails it, and the owner is trusted.

    With ``failover`` every step is also checked (:mod:`chordshare.node.ring.vouch`): a step
    that names peers whose ids do not derive from their addresses, answers outside the interval
    it should, or offers a hop that does not progress is discarded with its responder excluded,
    and the confirmed owner must be vouched for by its own predecessor.
    """

    def __init__(
        self,
        space: IdSpace,
        client: PeerClient,
        origin: PeerRef,
        local_step: Callable[[int, Collection[int]], NextHop],
        *,
        max_hops: int,
        failover: bool = True,
        confirm: bool | None = None,
        on_peer_failed: Callable[[PeerRef], None] | None = None,
        derives: Callable[[PeerRef], bool] | None = None,
        own_successors: Callable[[], Sequence[PeerRef]] | None = None,
        own_predecessor: Callable[[], PeerRef | None] | None = None,
        cache: OwnerCache | None = None,
    ) -> None:
        """``cache``: arcs seen owned by earlier lookups (:mod:`chordshare.node.ring.shortcut`),
        tried before routing and fed with this lookup's confirmed owner. Used only when the
        lookup confirms its owner, and only to be given when any answer of the ring will do
        (not for a lookup that must go through ``start``'s ring, as the merge check's)."""
        self.space = space
        self.confirm = failover if confirm is None else confirm
        """Confirm the owner (default: with failover). Callers that only want a routing hint
        (fix_fingers) or that contact the owner next anyway may skip the extra call."""
        self.client = client
        self.origin = origin
        self.local_step = local_step
        self.max_hops = max_hops
        self.failover = failover
        self.on_peer_failed = on_peer_failed
        self.own_predecessor = own_predecessor
        self.excluded: set[int] = set()
        self.path: list[PeerRef] = []
        self.hops = 0
        self.timeouts = 0
        self.refused = 0
        self.distrusted: set[int] = set()
        """Responders refused by a check: alive, so excluded as liars rather than as dead."""
        self.failed: set[int] = set()
        """Peers excluded because a call to them failed in this lookup."""
        self.second_chances: set[int] = set()
        """Failed peers asked once more because a neighbour still knows them alive."""
        self.start: PeerRef | None = None
        self.check = StepCheck(space, client, origin, derives, own_successors)
        self.own_successors = own_successors
        self.cache = cache if self.failover and self.confirm else None

    async def run(self, key: int, start: PeerRef | None = None) -> LookupResult:
        self.space.check(key)
        self.start = start
        if self.cache is not None:
            cached = await self._from_cache(key)
            if cached is not None:
                return cached
        if start is None or start == self.origin:
            stack = [_Frame(self.origin, self.local_step(key, self.excluded))]
        else:
            try:
                first = await self._ask(start, key)
            except PeerError as exc:
                raise LookupFailed(
                    f"start node {start.grpc_address} did not answer: {exc}"
                ) from exc
            if self.failover and not self.check.plausible(start, key, first):
                raise LookupFailed(f"start node {start.grpc_address} answered implausibly")
            stack = [_Frame(start, first)]
        while stack:
            frame = stack[-1]
            if frame.step.done:
                try:
                    result = await self._finish(frame, key)
                except Refused as refusal:
                    self._distrust(stack, refusal.owner)
                    continue
                if result is not None:
                    return result
                # every owner it named is dead: ask it again with them excluded, or backtrack
                if not self.failover or not await self._reask(frame, key):
                    stack.pop()
                continue
            candidate = next(
                (
                    p
                    for p in frame.step.peers
                    if p.id not in self.excluded and p.id not in frame.tried
                ),
                None,
            )
            if candidate is None:
                # Every candidate this node offered failed: ask it again, now that it will skip
                # the peers found dead; if it has nothing new, backtrack to the node before.
                if not self.failover or not await self._reask(frame, key):
                    stack.pop()
                continue
            frame.tried.add(candidate.id)
            if not self._closer(candidate, frame.node, key):
                self.excluded.add(candidate.id)  # a hop that does not progress is a protocol fault
                continue
            try:
                step = await self._ask(candidate, key)
            except PeerError:
                self._failed(candidate)
                if not self.failover:
                    break
                continue
            if self.failover and not self.check.plausible(candidate, key, step):
                self.refused += 1
                self.excluded.add(candidate.id)
                self.distrusted.add(candidate.id)
                continue
            stack.append(_Frame(candidate, step, asked_with=len(self.excluded)))
        raise LookupFailed(
            f"lookup of key {self.space.hex(key)} failed: every route ended at a dead peer "
            f"({self.timeouts} timeouts)"
        )

    async def _from_cache(self, key: int) -> LookupResult | None:
        """The owner of ``key`` from a kept arc that passes its check (no routing); None sends
        the key to the routing, the arc dropped if it failed."""
        assert self.cache is not None
        arc = self.cache.find(key)
        if arc is None:
            return None
        info = await self.cache.check(
            self.client, arc, key, self.origin, self.own_successors, self.check.derives
        )
        if info is None:
            self.cache.misses += 1
            self.cache.arcs.discard(arc)
            return None
        self.cache.hits += 1
        owner = arc.owner
        own = tuple(p for p in info.successors if p.id != owner.id and self.check.derives(p))
        return LookupResult(key, owner, own, 0, (), 0, cached=True)

    async def _ask(self, peer: PeerRef, key: int) -> NextHop:
        if self.hops >= self.max_hops:
            raise LookupFailed(f"lookup of key {self.space.hex(key)} exceeded {self.max_hops} hops")
        step = await self.client.find_successor_step(peer, key, self.excluded)
        self.hops += 1
        self.path.append(peer)
        return step

    async def _reask(self, frame: _Frame, key: int) -> bool:
        """Ask ``frame.node`` again with the peers now known dead excluded; False if that cannot
        bring anything new."""
        if frame.asked_with == len(self.excluded):
            return False
        frame.asked_with = len(self.excluded)
        frame.tried.clear()
        if frame.node == self.origin:
            frame.step = self.local_step(key, self.excluded)
            return True
        try:
            step = await self.client.find_successor_step(frame.node, key, self.excluded)
        except PeerError:
            self._failed(frame.node)
            return False
        if self.failover and not self.check.plausible(frame.node, key, step):
            return False
        frame.step = step
        return True

    def _distrust(self, stack: list[_Frame], owner: PeerRef) -> None:
        """The owner named by the top frame's node could not be confirmed: exclude that node
        (or, when it is the origin, the owner it named) and go on from the node before it."""
        self.refused += 1
        frame = stack[-1]
        if frame.node == self.origin:
            self.excluded.add(owner.id)
            frame.asked_with = -1  # ask our own table again, without that owner
            return
        self.excluded.add(frame.node.id)
        self.distrusted.add(frame.node.id)
        stack.pop()

    async def _finish(self, frame: _Frame, key: int) -> LookupResult | None:
        peers = [p for p in frame.step.peers if p.id not in self.excluded]
        if self.confirm:
            peers = await self._confirm(frame.node, peers, key)
        if not peers:
            return None
        owner, *rest = peers
        return LookupResult(key, owner, tuple(rest), self.hops, tuple(self.path), self.timeouts)

    async def _confirm(self, responder: PeerRef, peers: list[PeerRef], key: int) -> list[PeerRef]:
        """Check the named owner with one ``get_node_info``: skip it if dead; if its predecessor
        lies between the responder and the key, that newer node is the owner. A confirmed
        owner's answer also supplies the successors returned with it."""
        size = self.space.size
        moves = 0
        checked = self.failover
        # Checked, every move must itself be confirmed, so it may take more of them (each lands
        # strictly between the responder and the last owner named, so the walk ends).
        limit = self.max_hops if checked else CONFIRM_LIMIT
        while peers and moves < limit:
            if checked and moves and peers[0] == self.origin:
                raise Refused(peers[0])  # walked back to us: we know we do not own the key
            if peers[0] == self.origin or (peers[0] == responder and not checked):
                ours = self.own_predecessor() if self.own_predecessor is not None else None
                if (
                    peers[0] == self.origin
                    and ours is not None
                    and await self._back_from_silence(ours, key, self.origin, responder)
                ):
                    peers = [ours, *peers]  # one call to it was lost, it is not dead
                    moves += 1
                    continue
                return peers  # our own or the responder's state: already first-hand
            owner = peers[0]
            try:
                info = await self.client.get_node_info(owner)
            except PeerError:
                self._failed(owner)  # bounded by the list's length: each dead entry goes once
                peers = peers[1:]
                continue
            if checked and info.peer.id != owner.id:
                self._failed(owner)  # something else answers there: that owner is gone
                peers = peers[1:]
                continue
            pred = info.predecessor
            if checked and pred is not None and not self.check.derives(pred):
                raise Refused(owner)
            if pred is not None and await self._back_from_silence(pred, key, owner, responder):
                peers = [pred, *peers]  # one call to it was lost, it is not dead
                moves += 1
                continue
            if (
                checked
                and owner == responder
                and pred is not None
                and not in_half_open(key, pred.id, owner.id, size)
            ):
                raise Refused(owner)  # names itself, but its own predecessor says otherwise
            if (
                pred is None
                or pred.id in self.excluded
                or in_half_open(key, pred.id, owner.id, size)
                or not in_open(pred.id, responder.id, owner.id, size)
            ):
                # confirmed: its own successor list is first-hand, and complete where the
                # responder's list was cut short after the owner (the replica holders)
                if checked:
                    vouched = await self.check.vouched(
                        key, owner, info, responder, self.start, self.excluded, self.distrusted
                    )
                    if vouched is None:
                        raise Refused(owner)
                    if vouched != owner:
                        peers = [vouched, *peers]  # the predecessor knows a newer node
                        moves += 1
                        continue
                own = [p for p in info.successors if p.id not in self.excluded and p != owner]
                if checked:
                    own = [p for p in own if self.check.derives(p)]
                    if self.cache is not None and pred is not None and pred.id not in self.excluded:
                        self.cache.learn(pred, owner, own)
                return [owner, *(own or peers[1:])]
            peers = [pred, *peers]  # joined since the responder last stabilized
            moves += 1
        if checked and peers:
            raise Refused(peers[0])  # no owner confirmed within the moves allowed
        return peers

    async def _back_from_silence(
        self, pred: PeerRef, key: int, owner: PeerRef, responder: PeerRef
    ) -> bool:
        """Whether ``pred``, which failed a call in this lookup, answers a second one. Asked
        only when the key falls to it (not in ``(pred, owner]``) and ``owner``, its successor,
        still names it as predecessor: a lost packet is not a crash, and on a lossy link the
        next node named in its place would be a wrong owner. A crashed node fails the second
        call too (its successor drops it within a predecessor check), and each peer gets one
        second chance per lookup."""
        size = self.space.size
        if (
            pred.id not in self.failed
            or pred.id in self.second_chances
            or in_half_open(key, pred.id, owner.id, size)
            or not in_open(pred.id, responder.id, owner.id, size)
        ):
            return False
        self.second_chances.add(pred.id)
        try:
            info = await self.client.get_node_info(pred)
        except PeerError:
            self.timeouts += 1
            return False
        if info.peer.id != pred.id:
            return False
        self.failed.discard(pred.id)
        self.excluded.discard(pred.id)
        return True

    def _failed(self, peer: PeerRef) -> None:
        if self.cache is not None:
            self.cache.forget(peer)
        self.timeouts += 1
        self.failed.add(peer.id)
        self.excluded.add(peer.id)
        if self.on_peer_failed is not None:
            self.on_peer_failed(peer)

    def _closer(self, candidate: PeerRef, current: PeerRef, key: int) -> bool:
        """Each hop must land strictly closer to the key, going clockwise."""
        return self.space.distance(candidate.id, key) < self.space.distance(current.id, key)
