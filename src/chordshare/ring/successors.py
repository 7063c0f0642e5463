"""Successor list (Stoica et al. 2003, section IV.E; Zave 2017, "Reasoning about identifier
spaces").

The list holds the next ``r`` live nodes clockwise. Losing every entry at once disconnects the
ring, which happens with probability ``p**r`` when each node fails with probability ``p``; the
default ``r = 16`` keeps that below 2e-5 at ``p = 0.5`` and covers rings up to 2**16 nodes with
``r >= log2 N`` as the paper's proof requires. Zave's invariants are kept on every update: the
list is in ring order starting after the owner, never holds the owner, and has no duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from chordshare.ring.ids import IdSpace
from chordshare.ring.peer import PeerRef

DEFAULT_SUCCESSOR_LIST_SIZE = 16


class SuccessorList:
    """The owner's next ``size`` nodes clockwise."""

    __slots__ = ("_peers", "owner", "size", "space")

    def __init__(self, space: IdSpace, owner: int, size: int = DEFAULT_SUCCESSOR_LIST_SIZE) -> None:
        if size < 1:
            raise ValueError(f"successor list size must be at least 1, got {size}")
        self.space = space
        self.owner = space.check(owner)
        self.size = size
        self._peers: list[PeerRef] = []

    def __len__(self) -> int:
        return len(self._peers)

    def __iter__(self) -> Iterator[PeerRef]:
        return iter(self._peers)

    @property
    def first(self) -> PeerRef | None:
        return self._peers[0] if self._peers else None

    def peers(self) -> tuple[PeerRef, ...]:
        return tuple(self._peers)

    def ring_size_estimate(self) -> int:
        """N estimated from the list's density: r nodes span distance d, so N ≈ r·2^m/d (a list
        that is not full holds the whole rest of the ring)."""
        peers = self._peers
        if len(peers) < self.size:
            return len(peers) + 1
        span = self.space.distance(self.owner, peers[-1].id) or self.space.size
        return max(len(peers) + 1, round(len(peers) * self.space.size / span))

    def normalize(self, candidates: Iterable[PeerRef]) -> list[PeerRef]:
        """Candidates in ring order after the owner, without the owner or duplicates, cut to size.

        Ring order is by clockwise distance from the owner, which keeps the list sorted even when
        a peer's own list wrapped past us (rings smaller than ``size``).
        """
        by_id: dict[int, PeerRef] = {}
        for peer in candidates:
            if peer.id != self.owner and peer.id not in by_id:
                by_id[peer.id] = peer
        ordered = sorted(by_id.values(), key=lambda p: self.space.distance(self.owner, p.id))
        return ordered[: self.size]

    def replace(self, candidates: Iterable[PeerRef]) -> None:
        self._peers = self.normalize(candidates)

    def adopt(self, successor: PeerRef, successors_of_successor: Sequence[PeerRef]) -> None:
        """Stabilize's update (Zave): ``[succ] + succ.successor_list``, truncated to ``size``.

        Entries of the successor's list that come before the successor in our clockwise order
        would mean the list wrapped around the ring past us; they are cut at our own id, so a
        ring smaller than ``size`` yields exactly its other members.
        """
        merged: list[PeerRef] = [successor]
        last = self.space.distance(self.owner, successor.id)
        for peer in successors_of_successor:
            here = self.space.distance(self.owner, peer.id)
            if here == last:
                continue  # a repeat of the entry before: tolerate, never trust it twice
            if peer.id == self.owner or here < last:
                break  # wrapped around to us, or past us: the rest would go backwards
            merged.append(peer)
            last = here
        self._peers = self.normalize(merged)

    def remove(self, peer_id: int) -> bool:
        """Drop a failed peer; returns whether it was present."""
        before = len(self._peers)
        self._peers = [p for p in self._peers if p.id != peer_id]
        return len(self._peers) != before
