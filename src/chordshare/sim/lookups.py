"""One measured lookup: through the real ``ChordNode.find_successor``, judged by the oracle.

Path length follows the paper (the nodes a lookup visits, counting the owner that holds the
key): ``LookupResult.hops`` counts the nodes asked for a routing step, and the owner is one more
visit unless the origin owns the key itself. A lookup *fails* (a routing failure) when it
raises ``LookupFailed`` or names any node other than the key's true live owner; timeouts are the
calls that hit a dead or unreachable peer while it ran, as the network counted them.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from chordshare.errors import LookupFailed
from chordshare.node.ring.chord import ChordNode
from chordshare.transport.memory.network import MemoryNetwork


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    path: int | None
    """Nodes visited, the owner included; ``None`` when the lookup raised."""
    timeouts: int


def true_owner(ring: list[int], key: int) -> int:
    """The first live id at or after ``key`` in the sorted live ``ring``."""
    return ring[bisect.bisect_left(ring, key) % len(ring)]


def _failed_calls(network: MemoryNetwork) -> int:
    return sum(network.failures.values())


async def measure(network: MemoryNetwork, origin: ChordNode, key: int, ring: list[int]) -> Outcome:
    before = _failed_calls(network)
    try:
        result = await origin.find_successor(key)
    except LookupFailed:
        return Outcome(False, None, _failed_calls(network) - before)
    timeouts = _failed_calls(network) - before
    path = result.hops + (result.owner.id != origin.me.id)
    return Outcome(result.owner.id == true_owner(ring, key), path, timeouts)


@dataclass
class Tally:
    """Outcomes of many lookups."""

    lookups: int = 0
    failed: int = 0
    paths: list[int] = field(default_factory=list)
    timeouts: int = 0

    def add(self, outcome: Outcome) -> None:
        self.lookups += 1
        self.failed += not outcome.ok
        self.timeouts += outcome.timeouts
        if outcome.path is not None:
            self.paths.append(outcome.path)

    @property
    def mean_path(self) -> float:
        return sum(self.paths) / len(self.paths) if self.paths else 0.0

    @property
    def mean_timeouts(self) -> float:
        return self.timeouts / self.lookups if self.lookups else 0.0

    @property
    def failed_fraction(self) -> float:
        return self.failed / self.lookups if self.lookups else 0.0
