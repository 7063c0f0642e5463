"""What a node holds, summed up for its status (``GET /api/v1/status``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from chordshare.model.held import HeldFile


@dataclass(frozen=True, slots=True)
class Holdings:
    """Records and bytes one node holds."""

    records: int = 0
    """DHT records in its store (those it owns and the replicas of its predecessors')."""
    shared_bytes: int = 0
    """Files of its shared directory."""
    pinned_bytes: int = 0
    """Pinned replicas of uploads in its blob store."""
    cached_bytes: int = 0
    """Cached copies in its blob store (downloads for REST readers; evictable)."""

    @property
    def bytes_held(self) -> int:
        return self.shared_bytes + self.pinned_bytes + self.cached_bytes

    @classmethod
    def of(cls, records: int, files: Iterable[HeldFile]) -> Holdings:
        shared = pinned = cached = 0
        for held in files:
            size = held.manifest.size
            if held.source != "store":
                shared += size
            elif held.pinned:
                pinned += size
            else:
                cached += size
        return cls(records, shared, pinned, cached)


HoldingsSource = Callable[[], Awaitable[Holdings]]
"""Reads a node's holdings now (supplied by the composition root)."""
