"""A node's routing state and the pure routing decisions made from it.

Nothing here does I/O: the node algorithms (``chordshare.node``) ask peers and feed the answers in;
this module decides what they mean. Paper references: Stoica et al., "Chord" (SIGCOMM 2001,
ToN 2003); Zave, "Reasoning about identifier spaces: how to make Chord correct" (TSE 2017).
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from chordshare.ring.fingers import FingerTable
from chordshare.ring.ids import IdSpace
from chordshare.ring.interval import in_half_open, in_open
from chordshare.ring.peer import PeerRef
from chordshare.ring.successors import DEFAULT_SUCCESSOR_LIST_SIZE, SuccessorList

NEXT_HOP_CANDIDATES = 3
"""How many next-hop candidates a step returns, closest to the key first: the caller fails over
to the next one without another round trip when the first is dead (each extra candidate costs a
few dozen bytes on the wire)."""


@dataclass(frozen=True, slots=True)
class NextHop:
    """One step of an iterative lookup, as answered by the node asked.

    ``done``: ``peers[0]`` is the key's owner and the rest are its successors (fallbacks should the
    owner turn out dead). Otherwise ``peers`` are next-hop candidates, closest preceding first.
    """

    done: bool
    peers: tuple[PeerRef, ...]


class RoutingTable:
    """Self, predecessor, successor list and fingers of one node."""

    def __init__(
        self,
        space: IdSpace,
        me: PeerRef,
        successor_list_size: int = DEFAULT_SUCCESSOR_LIST_SIZE,
    ) -> None:
        space.check(me.id)
        self.space = space
        self.me = me
        self.predecessor: PeerRef | None = None
        self.successors = SuccessorList(space, me.id, successor_list_size)
        self.fingers = FingerTable(space, me.id)
        self._view: _RoutingView | None = None

    def _routing_view(self) -> _RoutingView:
        """Successors and fingers by clockwise offset from this node, rebuilt only after either
        changed: routing reads them on every step, maintenance changes them rarely."""
        fingers = self.fingers.distinct()
        successors = self.successors.peers()
        view = self._view
        if view is None or view.fingers is not fingers or view.successors != successors:
            view = self._view = _RoutingView(self.space, self.me.id, fingers, successors)
        return view

    # -- views -----------------------------------------------------------------------------

    @property
    def successor(self) -> PeerRef:
        """First live successor; the node itself when it is alone."""
        return self.successors.first or self.me

    @property
    def alone(self) -> bool:
        return len(self.successors) == 0

    def known_peers(self) -> list[PeerRef]:
        """Every distinct peer this node knows, in ring order after itself."""
        found: dict[int, PeerRef] = {}
        for peer in (*self.successors.peers(), *self.fingers.peers()):
            found.setdefault(peer.id, peer)
        if self.predecessor is not None:
            found.setdefault(self.predecessor.id, self.predecessor)
        found.pop(self.me.id, None)
        return sorted(found.values(), key=lambda p: self.space.distance(self.me.id, p.id))

    def owns(self, key: int) -> bool:
        """Whether ``key`` is in ``(predecessor, self]``; with no predecessor known, only a lone
        node claims keys (it owns the whole ring)."""
        if self.predecessor is None:
            return self.alone
        return in_half_open(key, self.predecessor.id, self.me.id, self.space.size)

    # -- routing -----------------------------------------------------------------------------

    def next_hop(
        self,
        key: int,
        exclude: Collection[int] = (),
        *,
        use_successor_list: bool = True,
        candidates: int = NEXT_HOP_CANDIDATES,
    ) -> NextHop:
        """The paper's ``find_successor`` step, made iterative.

        If ``key`` is in ``(self, successor]`` the answer is final. With ``use_successor_list`` the
        whole successor list is consulted the same way (an improvement over the paper: a key
        among the next r nodes is resolved without further hops). Otherwise the answer is
        ``closest_preceding_node`` over fingers and successors, skipping ``exclude``.
        """
        view = self._routing_view()
        if exclude:
            kept = [i for i, p in enumerate(view.successors) if p.id not in exclude]
            live = [view.successors[i] for i in kept]
            offsets = [view.successor_offsets[i] for i in kept]
        else:
            live, offsets = list(view.successors), view.successor_offsets
        if key == self.me.id:
            # successor(n) = n: a node owns its own id (without this, the step would route a
            # full circle away from the key, which no hop can get "closer" to).
            return NextHop(done=True, peers=(self.me, *live))
        if not live:
            # Alone (or every successor excluded): this node is the best answer it can give.
            return NextHop(done=True, peers=(self.me,))
        # ``key in (prev, s_i]`` for consecutive live successors s_0, s_1, ... (the list is in
        # clockwise order: SuccessorList's invariant): the first arc holding the key is the first
        # successor at least as far from us as the key (our own id was answered above).
        key_offset = (key - self.me.id) % self.space.size
        reach = len(live) if use_successor_list else 1
        first = bisect.bisect_left(offsets, key_offset, 0, reach)
        if first < reach:
            return NextHop(done=True, peers=tuple(live[first:]))
        preceding = self.closest_preceding_nodes(key, exclude, limit=candidates)
        if not preceding:
            return NextHop(done=True, peers=tuple(live))
        return NextHop(done=False, peers=tuple(preceding))

    def closest_preceding_nodes(
        self, key: int, exclude: Collection[int] = (), *, limit: int = NEXT_HOP_CANDIDATES
    ) -> list[PeerRef]:
        """Peers from fingers and successor list in ``(self, key)``, closest to ``key`` first
        (Stoica et al. 2003, Fig. 5 ``closest_preceding_node``, extended to the successor list
        and to a ranked list so that a dead first choice costs no extra round trip)."""
        view = self._routing_view()
        # ``peer in (self, key)`` is ``0 < offset(peer) < offset(key)`` (the whole ring but us
        # when key is our own id); closest to ``key`` first is farthest from us first.
        span = (key - self.me.id) % self.space.size or self.space.size
        index = bisect.bisect_left(view.pool_offsets, span) - 1
        if limit < 0:  # a negative limit slices from the end, as ``ranked[:limit]`` would
            ranked = [p for p in reversed(view.pool[: index + 1]) if p.id not in exclude]
            return ranked[:limit]
        found: list[PeerRef] = []
        while index >= 0 and len(found) < limit:
            peer = view.pool[index]
            if peer.id not in exclude:
                found.append(peer)
            index -= 1
        return found

    # -- updates ---------------------------------------------------------------------------

    def should_rectify(self, candidate: PeerRef, predecessor_alive: bool) -> bool:
        """Zave's ``rectify`` (replaces ``notify``): adopt ``candidate`` as predecessor if there is
        none, if the current one is dead, or if ``candidate`` lies in ``(predecessor, self)``."""
        if candidate.id == self.me.id:
            return False
        if self.predecessor is None or not predecessor_alive:
            return True
        return in_open(candidate.id, self.predecessor.id, self.me.id, self.space.size)

    def stabilize_candidate(self, successor_predecessor: PeerRef | None) -> bool:
        """Stabilize: whether our successor's predecessor sits between us and our successor (so it
        should become our successor)."""
        if successor_predecessor is None or successor_predecessor.id == self.me.id:
            return False
        return in_open(successor_predecessor.id, self.me.id, self.successor.id, self.space.size)

    def forget(self, peer_id: int) -> None:
        """Drop a failed or departed peer from every table."""
        self.successors.remove(peer_id)
        self.fingers.remove(peer_id)
        if self.predecessor is not None and self.predecessor.id == peer_id:
            self.predecessor = None

    def learn(self, peers: Iterable[PeerRef]) -> None:
        """Fold peers heard about into the successor list when they fit (used on join and by the
        ring-merge check); fingers are left to ``fix_fingers``."""
        self.successors.replace((*self.successors.peers(), *peers))


class _RoutingView:
    """A snapshot of one node's successors and fingers, sorted for bisection.

    ``pool`` holds every distinct peer of fingers and successors except the node itself (a
    finger's ref wins over a successor's of the same id), ascending by clockwise offset from the
    node; ``pool_offsets`` are those offsets. ``successor_offsets`` follow ``successors``.
    """

    __slots__ = ("fingers", "pool", "pool_offsets", "successor_offsets", "successors")

    def __init__(
        self,
        space: IdSpace,
        me: int,
        fingers: tuple[PeerRef, ...],
        successors: tuple[PeerRef, ...],
    ) -> None:
        size = space.size
        self.fingers = fingers
        self.successors = successors
        self.successor_offsets = [(p.id - me) % size for p in successors]
        by_id: dict[int, PeerRef] = {}
        for peer in (*fingers, *successors):
            if peer.id != me:
                by_id.setdefault(peer.id, peer)
        self.pool = sorted(by_id.values(), key=lambda p: (p.id - me) % size)
        self.pool_offsets = [(p.id - me) % size for p in self.pool]
