"""Brute-force truth about a set of node ids: who owns a key, who follows whom.

Used by the invariant checker, the tests and the simulator to judge the distributed answers.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from chordshare.ring.ids import IdSpace


class RingOracle:
    """The ideal ring over ``ids``."""

    def __init__(self, space: IdSpace, ids: Iterable[int]) -> None:
        self.space = space
        self.ids = sorted(set(ids))
        if not self.ids:
            raise ValueError("an oracle needs at least one node")

    def __len__(self) -> int:
        return len(self.ids)

    def successor(self, key: int) -> int:
        """The first node id at or after ``key`` clockwise: the key's owner."""
        i = bisect.bisect_left(self.ids, key)
        return self.ids[i % len(self.ids)]

    def predecessor(self, node: int) -> int:
        """The node just before ``node`` (itself in a one-node ring)."""
        i = bisect.bisect_left(self.ids, node)
        return self.ids[(i - 1) % len(self.ids)]

    def successors(self, node: int, count: int) -> list[int]:
        """The next ``count`` nodes after ``node``, never ``node`` itself."""
        i = bisect.bisect_right(self.ids, node)
        n = len(self.ids)
        out = [self.ids[(i + k) % n] for k in range(min(count, n))]
        return [x for x in out if x != node][:count]

    def finger(self, node: int, index: int) -> int:
        return self.successor(self.space.finger_start(node, index))
