"""Time as a dependency (DESIGN.md principle 4).

Maintenance intervals, deadlines and expiries read a :class:`Clock`. Production uses
:class:`SystemClock`; tests and the simulator use :class:`ManualClock` and move time themselves.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once ``seconds`` have passed on this clock."""
        ...


class SystemClock:
    """The event loop's monotonic clock."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """A clock that only moves when told to.

    ``sleep`` parks the caller on a timer; ``advance`` moves time forward timer by timer, waking
    each sleeper in deadline order and letting the event loop run the woken tasks before the next
    timer fires, so tasks observe time exactly as they would on a real clock.
    """

    SETTLE_PASSES = 20
    """Loop iterations granted to woken tasks after each timer: enough for a woken task to run a
    chain of in-memory RPCs (each yields once) before time moves on."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self._now + seconds, next(self._seq), fut))
        await fut

    @property
    def pending(self) -> int:
        return sum(1 for _, _, fut in self._timers if not fut.done())

    async def settle(self) -> None:
        for _ in range(self.SETTLE_PASSES):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing due timers in order."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        target = self._now + seconds
        await self.settle()
        while self._timers and self._timers[0][0] <= target:
            deadline, _, fut = heapq.heappop(self._timers)
            self._now = max(self._now, deadline)
            if not fut.done():
                fut.set_result(None)
            await self.settle()
        self._now = target
