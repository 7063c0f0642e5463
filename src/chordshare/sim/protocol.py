"""Which protocol a simulation runs: ours (the defaults) or the paper's own setup.

Our improvements over Stoica et al. are each a switch, so ``--paper`` turns all of them off:
successor-list routing (``RingSettings.use_successor_list_routing``), lookup failover and
retries around dead peers (``RingSettings.lookup_failover``), and replication of every key on
the owner and its next k-1 successors (the paper's experiments store one copy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from chordshare.model.limits import DEFAULT_REPLICAS
from chordshare.node.ring.settings import RingSettings

PAPER_REPLICAS = 1
"""The paper's failure experiment stores each key once (no replication)."""


def log_sized_successor_list(nodes: int) -> int:
    """r = 2·log2 N (rounded up): the paper requires r = O(log N); with every node failing with
    probability 1/2 a whole list then fails with probability 2^-r <= 1/N^2, so no node of the
    ring loses its successor in expectation."""
    return max(2 * math.ceil(math.log2(max(nodes, 2))), 1)


@dataclass(frozen=True, slots=True)
class Protocol:
    paper: bool = False
    """Reproduce the paper: finger-only routing, no failover, one copy of each key."""
    successors: int | None = None
    """r, the successor-list size; ``None`` picks the experiment's default."""
    replicas: int | None = None
    """k, the copies of each key; ``None``: ``DEFAULT_REPLICAS`` for ours, ``PAPER_REPLICAS`` for
    the paper's."""

    @property
    def copies(self) -> int:
        if self.replicas is not None:
            return self.replicas
        return PAPER_REPLICAS if self.paper else DEFAULT_REPLICAS

    def settings(self, default_successors: int) -> RingSettings:
        return RingSettings(
            successor_list_size=self.successors or default_successors,
            use_successor_list_routing=not self.paper,
            lookup_failover=not self.paper,
        )

    def describe(self, settings: RingSettings) -> str:
        name = "paper (finger-only routing, no failover)" if self.paper else "ours"
        return (
            f"protocol {name}; successor list r = {settings.successor_list_size}; "
            f"{settings.fingers_per_round} fingers refreshed per maintenance round"
        )
