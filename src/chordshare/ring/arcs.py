"""Arcs of the ring seen owned: ``(pred, owner]`` pairs a node learnt from earlier lookups.

A lookup that confirmed ``owner`` with its predecessor ``pred`` learnt that every key in
``(pred, owner]`` belonged to ``owner`` at that time. :class:`ArcMap` keeps such arcs, disjoint
(a new arc displaces every arc it overlaps: the newer view of that stretch of the ring wins),
each until its expiry, and finds the one holding a key by bisection. What an arc says is a
guess to be checked with the two nodes it names, never an answer: nothing here does I/O, and
nothing here knows whether the ring changed since.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from chordshare.ring.ids import IdSpace
from chordshare.ring.interval import in_half_open
from chordshare.ring.peer import PeerRef


@dataclass(frozen=True, slots=True)
class Arc:
    pred: PeerRef
    owner: PeerRef
    expires: float
    """On the clock of whoever keeps the map."""
    vouched: float | None = None
    """When both ends last agreed on this arc (same clock); None: only heard of (an entry of
    someone's successor list), never checked with both."""

    def holds(self, key: int, size: int) -> bool:
        return in_half_open(key, self.pred.id, self.owner.id, size)


class ArcMap:
    """Disjoint arcs ``(pred, owner]`` keyed by owner, at most ``capacity`` (oldest out)."""

    __slots__ = ("_arcs", "_owners", "capacity", "space")

    def __init__(self, space: IdSpace, capacity: int = 1024) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.space = space
        self.capacity = capacity
        self._arcs: dict[int, Arc] = {}
        """By owner id, oldest first (a put moves its arc to the end)."""
        self._owners: list[int] = []
        """The keys of ``_arcs``, ascending."""

    def __len__(self) -> int:
        return len(self._arcs)

    def arcs(self) -> list[Arc]:
        """Every arc kept, by owner id."""
        return [self._arcs[o] for o in self._owners]

    def find(self, key: int, now: float) -> Arc | None:
        """The arc holding ``key``, unless it expired by ``now`` (then it is dropped)."""
        if not self._owners:
            return None
        index = bisect.bisect_left(self._owners, key) % len(self._owners)
        arc = self._arcs[self._owners[index]]
        if not arc.holds(key, self.space.size):
            return None
        if arc.expires <= now:
            self._drop(arc.owner.id)
            return None
        return arc

    def put(
        self, pred: PeerRef, owner: PeerRef, expires: float, vouched: float | None = None
    ) -> None:
        """Keep ``(pred, owner]``, displacing the arcs it overlaps. An arc of a lone node (its
        own predecessor: the whole ring) is not kept, and an arc heard of does not displace
        the same arc already vouched for."""
        if pred.id == owner.id:
            return
        kept = self._arcs.get(owner.id)
        if vouched is None and kept is not None and kept.pred.id == pred.id:
            vouched = kept.vouched
        for other in self._overlapping(pred.id, owner.id):
            self._drop(other)
        self._arcs[owner.id] = Arc(pred, owner, expires, vouched)
        bisect.insort(self._owners, owner.id)
        while len(self._arcs) > self.capacity:
            self._drop(next(iter(self._arcs)))

    def forget(self, peer_id: int) -> None:
        """Drop every arc naming ``peer_id`` (as owner or as predecessor)."""
        stale = [o for o, arc in self._arcs.items() if peer_id in (o, arc.pred.id)]
        for owner in stale:
            self._drop(owner)

    def discard(self, arc: Arc) -> None:
        """Drop ``arc`` if it is still the one kept for its owner."""
        if self._arcs.get(arc.owner.id) == arc:
            self._drop(arc.owner.id)

    def clear(self) -> None:
        self._arcs.clear()
        self._owners.clear()

    def _overlapping(self, start: int, end: int) -> list[int]:
        """Owners of the arcs that share a key with ``(start, end]``: those whose owner lies in
        it, and the one after them if it reaches back into it."""
        owners, size = self._owners, self.space.size
        if not owners:
            return []
        found: list[int] = []
        index = bisect.bisect_right(owners, start) % len(owners)
        for _ in range(len(owners)):
            owner = owners[index]
            if not in_half_open(owner, start, end, size):
                if in_half_open(end, self._arcs[owner].pred.id, owner, size):
                    found.append(owner)  # it holds our end, so it overlaps us
                break
            found.append(owner)
            index = (index + 1) % len(owners)
        return found

    def _drop(self, owner: int) -> None:
        del self._arcs[owner]
        del self._owners[bisect.bisect_left(self._owners, owner)]
