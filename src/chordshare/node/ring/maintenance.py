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


class Maintenance:
    """Runs a node's periodic tasks until stopped."""

    def __init__(
        self,
        node: ChordNode,
        clock: Clock,
        *,
        seeds: Callable[[], Sequence[PeerRef]] = tuple,
        extra: Sequence[tuple[str, float, Callable[[], Awaitable[object]]]] = (),
        rng: random.Random | None = None,
    ) -> None:
        self.node = node
        self.clock = clock
        self.seeds = seeds
        self.rng = rng or random.Random()
        s = node.settings
        self.jobs: list[tuple[str, float, Callable[[], Awaitable[object]]]] = [
            ("stabilize", s.stabilize_interval, node.stabilize),
            ("fix_fingers", s.fix_fingers_interval, node.fix_fingers),
            ("check_predecessor", s.check_predecessor_interval, node.check_predecessor),
            ("merge", s.stabilize_interval * MERGE_EVERY, self.merge),
            *extra,
        ]
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

    async def merge(self) -> None:
        for seed in self.seeds():
            if await self.node.merge_through(seed):
                log.info("learned of another ring through %s; merging", seed.grpc_address)

    async def _loop(self, name: str, interval: float, job: Callable[[], Awaitable[object]]) -> None:
        while True:
            await self.clock.sleep(interval * self.rng.uniform(1 - JITTER, 1 + JITTER))
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
