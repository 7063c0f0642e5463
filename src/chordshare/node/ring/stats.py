"""Counters a node keeps about itself; the service exports them as Prometheus metrics."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class NodeStats:
    lookups: int = 0
    lookups_failed: int = 0
    peers_failed: int = 0
    hop_counts: Counter[int] = field(default_factory=Counter)

    def record_lookup(self, hops: int) -> None:
        self.lookups += 1
        self.hop_counts[hops] += 1
