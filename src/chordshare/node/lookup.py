"""Iterative lookup (Stoica et al. 2003, section IV.C, made iterative as in section V.A of the
SIGCOMM paper): the caller drives every hop, so it sets the deadline, records the path and hop
count, checks that every hop gets strictly closer to the key, and fails over around dead peers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from chordshare.errors import LookupFailed, PeerError
from chordshare.ring import IdSpace, NextHop, PeerRef
from chordshare.transport.base import PeerClient


@dataclass(frozen=True, slots=True)
class LookupResult:
    key: int
    owner: PeerRef
    successors: tuple[PeerRef, ...]
    """Peers after the owner, in ring order, as the last node saw them (replica holders)."""
    hops: int
    """Remote nodes asked (the origin's own routing step is free)."""
    path: tuple[PeerRef, ...]
    timeouts: int = 0
    """Peers that failed to answer during this lookup."""


def hop_limit(estimated_nodes: int) -> int:
    """About 2·log2 N (DESIGN.md §4), with slack for stale fingers on a small or young ring."""
    return 2 * math.ceil(math.log2(max(estimated_nodes, 2))) + 4


@dataclass
class _Frame:
    node: PeerRef
    step: NextHop
    tried: set[int] = field(default_factory=set)


class IterativeLookup:
    """One lookup of one key. ``local_step`` answers for the origin without a round trip."""

    def __init__(
        self,
        space: IdSpace,
        client: PeerClient,
        origin: PeerRef,
        local_step: Callable[[int, Collection[int]], NextHop],
        *,
        max_hops: int,
        failover: bool = True,
        on_peer_failed: Callable[[PeerRef], None] | None = None,
    ) -> None:
        self.space = space
        self.client = client
        self.origin = origin
        self.local_step = local_step
        self.max_hops = max_hops
        self.failover = failover
        self.on_peer_failed = on_peer_failed

    async def run(self, key: int, start: PeerRef | None = None) -> LookupResult:
        self.space.check(key)
        excluded: set[int] = set()
        path: list[PeerRef] = []
        timeouts = 0
        hops = 0
        if start is None or start == self.origin:
            stack = [_Frame(self.origin, self.local_step(key, excluded))]
        else:
            hops = 1
            try:
                first = await self.client.find_successor_step(start, key, excluded)
            except PeerError as exc:
                raise LookupFailed(
                    f"start node {start.grpc_address} did not answer: {exc}"
                ) from exc
            path.append(start)
            stack = [_Frame(start, first)]
        while stack:
            frame = stack[-1]
            if frame.step.done:
                owner, *rest = frame.step.peers
                return LookupResult(key, owner, tuple(rest), hops, tuple(path), timeouts)
            candidate = next(
                (p for p in frame.step.peers if p.id not in excluded and p.id not in frame.tried),
                None,
            )
            if candidate is None:
                # Every candidate this node offered failed: backtrack and ask it again, now that
                # it will skip the peers we found dead.
                stack.pop()
                if not stack or not self.failover:
                    break
                await self._reask(stack[-1], key, excluded)
                continue
            frame.tried.add(candidate.id)
            if hops >= self.max_hops:
                raise LookupFailed(
                    f"lookup of key {self.space.hex(key)} exceeded {self.max_hops} hops"
                )
            if not self._closer(candidate, frame.node, key):
                excluded.add(candidate.id)  # a hop that does not progress is a protocol fault
                continue
            try:
                step = await self.client.find_successor_step(candidate, key, excluded)
            except PeerError:
                timeouts += 1
                excluded.add(candidate.id)
                if self.on_peer_failed is not None:
                    self.on_peer_failed(candidate)
                if not self.failover:
                    break
                continue
            hops += 1
            path.append(candidate)
            stack.append(_Frame(candidate, step))
        raise LookupFailed(
            f"lookup of key {self.space.hex(key)} failed: every route ended at a dead peer "
            f"({timeouts} timeouts)"
        )

    async def _reask(self, frame: _Frame, key: int, excluded: set[int]) -> None:
        if frame.node.id == self.origin.id:
            frame.step = self.local_step(key, excluded)
            return
        try:
            frame.step = await self.client.find_successor_step(frame.node, key, excluded)
        except PeerError:
            excluded.add(frame.node.id)
            frame.step = NextHop(done=False, peers=())

    def _closer(self, candidate: PeerRef, current: PeerRef, key: int) -> bool:
        """Each hop must land strictly closer to the key, going clockwise."""
        return self.space.distance(candidate.id, key) < self.space.distance(current.id, key)
