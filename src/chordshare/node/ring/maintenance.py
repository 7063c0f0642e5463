"""The periodic maintenance of one node: stabilize, fix_fingers, check_predecessor, and the
ring-merge check through the seeds, each on its own jittered timer read from the injected clock.

Jitter (uniform in ±``JITTER`` of the interval) keeps nodes started together from stabilizing in
lock-step, as the paper's simulations randomize stabilization times. A step that fails with a
:class:`ChordshareError` is logged and simply runs again next period: maintenance never dies.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence

from chordshare.clock import Clock
from chordshare.errors import ChordshareError
from chordshare.node.ring.chord import ChordNode
from chordshare.ring import PeerRef

log = logging.getLogger(__name__)

JITTER = 0.25
"""±25% of each interval."""

MERGE_EVERY = 10
"""Stabilize periods between ring-merge checks: a split ring is rare, and each check costs one
lookup through a seed."""

FAST_FACTOR = 8
"""While the ring changes around a node, it stabilizes this many times as often as configured:
nodes that join together sort themselves out, and a new successor list reaches the nodes
before, in a fraction of the configured interval."""

FAST_ROUNDS = 24
"""Fast stabilize rounds after the last change the node saw (its successor list or its
predecessor): three configured intervals, long enough for a change to travel back the r nodes
whose lists hold it while those nodes still run fast; then back to the configured pace, so an
idle node costs what the configured interval costs."""

Interval = float | Callable[[], float]
"""Seconds between two runs of a job, fixed or asked before each wait."""


class Maintenance:
    """Runs a node's periodic tasks until stopped."""

    def __init__(
        self,
        node: ChordNode,
        clock: Clock,
        *,
        seeds: Callable[[], Sequence[PeerRef]] = tuple,
        extra: Sequence[tuple[str, Interval, Callable[[], Awaitable[object]]]] = (),
        rng: random.Random | None = None,
    ) -> None:
        self.node = node
        self.clock = clock
        self.seeds = seeds
        self.rng = rng or random.Random()
        s = node.settings
        self.jobs: list[tuple[str, Interval, Callable[[], Awaitable[object]]]] = [
            ("stabilize", self.stabilize_interval, node.stabilize),
            ("fix_fingers", s.fix_fingers_interval, node.fix_fingers),
            ("check_predecessor", s.check_predecessor_interval, node.check_predecessor),
            ("merge", s.stabilize_interval * MERGE_EVERY, self.merge),
            *extra,
        ]
        self._changes_seen = node.observer.changes
        self._fast_left = FAST_ROUNDS  # a node that just joined is in a changing ring
        self._tasks: list[asyncio.Task[None]] = []
        self.runs: dict[str, int] = {name: 0 for name, _, _ in self.jobs}
        self._ran = asyncio.Condition()
        self.bugs = 0
        """Unexpected exceptions raised by jobs (each logged with its traceback)."""

    def start(self) -> None:
        for name, interval, job in self.jobs:
            self._tasks.append(asyncio.create_task(self._loop(name, interval, job), name=name))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def next_run(self) -> None:
        """Return once any job has run again: lets a caller re-check a condition that only
        maintenance can change, instead of polling on a timer."""
        async with self._ran:
            await self._ran.wait()

    def stabilize_interval(self) -> float:
        """The configured interval, divided by ``FAST_FACTOR`` for ``FAST_ROUNDS`` rounds after
        each change of the node's successor list or predecessor."""
        interval = self.node.settings.stabilize_interval
        changes = self.node.observer.changes
        if changes != self._changes_seen:
            self._changes_seen = changes
            self._fast_left = FAST_ROUNDS
        if self._fast_left > 0:
            self._fast_left -= 1
            return interval / FAST_FACTOR
        return interval

    async def merge(self) -> None:
        for seed in self.seeds():
            if await self.node.merge_through(seed):
                log.info("learned of another ring through %s; merging", seed.grpc_address)

    async def _loop(
        self, name: str, interval: Interval, job: Callable[[], Awaitable[object]]
    ) -> None:
        while True:
            seconds = interval() if callable(interval) else interval
            await self.clock.sleep(seconds * self.rng.uniform(1 - JITTER, 1 + JITTER))
            if self.node.left:
                return
            try:
                await job()
            except ChordshareError as exc:
                log.warning("%s failed: %s", name, exc)
            except Exception:
                # A bug, not a network fault: log it with its traceback and count it (tests
                # assert the count is zero), but keep the node's ring maintenance alive.
                self.bugs += 1
                log.exception("%s raised an unexpected error; retrying next period", name)
            self.runs[name] += 1
            async with self._ran:
                self._ran.notify_all()
