"""Finger table (Stoica et al. 2001, section 4.3, Table 1).

Entry ``i`` (0-based here, 1-based in the paper) should hold ``successor(n + 2**i)``. An entry is
``None`` until ``fix_fingers`` fills it; a stale entry is only a routing hint, never trusted for
correctness (the successor list is).
"""

from __future__ import annotations

from collections.abc import Iterator

from chordshare.ring.ids import IdSpace
from chordshare.ring.peer import PeerRef


class FingerTable:
    """The m fingers of one node."""

    __slots__ = ("_distinct", "_entries", "owner", "space")

    def __init__(self, space: IdSpace, owner: int) -> None:
        self.space = space
        self.owner = space.check(owner)
        self._entries: list[PeerRef | None] = [None] * space.bits
        # Distinct peers in finger order, rebuilt lazily after any change: routing reads them on
        # every step while fingers change only on maintenance (m = 160 entries, ~log2 N distinct).
        self._distinct: tuple[PeerRef, ...] | None = ()

    def __len__(self) -> int:
        return self.space.bits

    def start(self, index: int) -> int:
        return self.space.finger_start(self.owner, index)

    def get(self, index: int) -> PeerRef | None:
        return self._entries[index]

    def set(self, index: int, peer: PeerRef | None) -> None:
        self._entries[index] = peer
        self._distinct = None

    def fill_from(self, index: int, peer: PeerRef) -> int:
        """Set finger ``index`` to ``peer`` and every following finger whose start also falls in
        ``(owner, peer]`` (they share the same successor). Returns the next index to refresh."""
        reach = self.space.distance(self.owner, peer.id) or self.space.size
        # Finger j starts 2**j after the owner, so it shares ``peer`` while 2**j <= reach, that is
        # while j < reach.bit_length().
        self._entries[index] = peer
        nxt = min(max(index + 1, reach.bit_length()), self.space.bits)
        self._entries[index + 1 : nxt] = [peer] * (nxt - index - 1)
        self._distinct = None
        return nxt

    def remove(self, peer_id: int) -> None:
        """Forget a peer everywhere (it failed or left)."""
        for i, entry in enumerate(self._entries):
            if entry is not None and entry.id == peer_id:
                self._entries[i] = None
                self._distinct = None

    def entries(self) -> list[PeerRef | None]:
        return list(self._entries)

    def peers(self) -> Iterator[PeerRef]:
        """Distinct peers in finger order."""
        return iter(self.distinct())

    def distinct(self) -> tuple[PeerRef, ...]:
        """Distinct peers in finger order, as a tuple (cached until the table changes)."""
        if self._distinct is None:
            seen: set[int] = set()
            out: list[PeerRef] = []
            for entry in self._entries:
                if entry is not None and entry.id not in seen:
                    seen.add(entry.id)
                    out.append(entry)
            self._distinct = tuple(out)
        return self._distinct
