"""The transfers of one node, as they run: what moves, how far it got, how fast.

Every download this node makes for a client (the REST ``/content`` reader's fetch), every upload
it receives, every stream it serves to a peer and every repair copy it makes registers a
:class:`Transfer` with :meth:`TransferTracker.track`. The transfer loops only add the bytes they
moved to :attr:`Transfer.bytes_done` (an integer add per chunk: transfer speed matters more than
anything here); everything else happens on a timer, every :data:`TICK` seconds while a transfer
runs: the rate over a sliding window of :data:`WINDOW` seconds, and a ``transfer.progress`` event
for each transfer that moved since the last tick, so at most 1 / TICK = 4 a second each.
``transfer.started`` and ``transfer.finished`` are published as they happen, all three with
``{"transfer": Transfer}`` (the REST ``Transfer`` schema's fields, :meth:`Transfer.as_json`).

The tracker keeps the running transfers and the last :data:`KEEP_FINISHED` finished ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from typing import Literal

from chordshare.clock import Clock, SystemClock
from chordshare.node.events import EventHub
from chordshare.transport.ports.transfer import Chunk

TransferKind = Literal["download", "upload", "serve", "repair"]

TICK = 0.25
"""Seconds between rate samples and progress events (4 a second per transfer, as the REST
contract promises)."""

WINDOW = 3.0
"""Seconds of samples the rate is computed over: long enough to smooth piece-by-piece bursts of
1 MiB, short enough to show a stall within a few seconds."""

KEEP_FINISHED = 50
"""Finished transfers kept for ``GET /api/v1/transfers`` (newest first)."""


class Transfer:
    """One transfer. The transfer loop adds to :attr:`bytes_done`; nothing else is its job."""

    __slots__ = (
        "_samples",
        "_t0",
        "bytes_done",
        "bytes_total",
        "content_hash",
        "error",
        "finished",
        "id",
        "kind",
        "name",
        "peer",
        "rate_bps",
        "reported",
        "started",
        "state",
    )

    def __init__(
        self,
        ident: str,
        kind: TransferKind,
        *,
        name: str | None,
        content_hash: bytes | None,
        bytes_total: int | None,
        peer: str | None,
        started: float,
        t0: float,
    ) -> None:
        self.id = ident
        self.kind = kind
        self.name = name
        self.content_hash = content_hash
        self.bytes_total = bytes_total
        self.peer = peer
        self.bytes_done = 0
        self.rate_bps = 0.0
        self.started = started
        """Wall-clock start (unix seconds)."""
        self.finished: float | None = None
        self.state: Literal["running", "done", "failed"] = "running"
        self.error: str | None = None
        self.reported = 0
        """``bytes_done`` at the last progress event."""
        self._t0 = t0
        self._samples: deque[tuple[float, int]] = deque([(t0, 0)])

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "content_hash": None if self.content_hash is None else self.content_hash.hex(),
            "bytes_done": self.bytes_done,
            "bytes_total": self.bytes_total,
            "rate_bps": round(self.rate_bps, 1),
            "started": self.started,
            "finished": self.finished,
            "peer": self.peer,
            "state": self.state,
            "error": self.error,
        }

    def _sample(self, now: float) -> None:
        """Add a sample at ``now`` and recompute the rate over the window."""
        samples = self._samples
        samples.append((now, self.bytes_done))
        while len(samples) > 2 and samples[1][0] <= now - WINDOW:
            samples.popleft()
        then, done = samples[0]
        if now > then:
            self.rate_bps = (self.bytes_done - done) / (now - then)


class TransferTracker:
    """Registers a node's transfers and publishes their events on ``hub``."""

    def __init__(
        self,
        hub: EventHub,
        clock: Clock | None = None,
        *,
        wall_clock: Callable[[], float] = time.time,
        keep: int = KEEP_FINISHED,
    ) -> None:
        self.hub = hub
        self.clock = clock or SystemClock()
        self.wall_clock = wall_clock
        self._running: dict[str, Transfer] = {}
        self._finished: deque[Transfer] = deque(maxlen=keep)
        self._ids = itertools.count(1)
        self._ticker: asyncio.Task[None] | None = None
        self.started = 0
        self.failed = 0

    @property
    def running(self) -> list[Transfer]:
        """The running transfers, oldest first."""
        return list(self._running.values())

    def snapshot(self) -> list[Transfer]:
        """Running transfers (oldest first), then the last finished ones, newest first."""
        return [*self._running.values(), *reversed(self._finished)]

    def begin(
        self,
        kind: TransferKind,
        *,
        name: str | None = None,
        content_hash: bytes | None = None,
        bytes_total: int | None = None,
        peer: str | None = None,
    ) -> Transfer:
        """Register a running transfer (end it with :meth:`end`; :meth:`track` does both)."""
        transfer = Transfer(
            f"{kind[0]}{next(self._ids)}",
            kind,
            name=name,
            content_hash=content_hash,
            bytes_total=bytes_total,
            peer=peer,
            started=self.wall_clock(),
            t0=self.clock.now(),
        )
        self._running[transfer.id] = transfer
        self.started += 1
        self.hub.publish("transfer.started", {"transfer": transfer.as_json()})
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="transfers")
        return transfer

    def end(self, transfer: Transfer, error: BaseException | str | None = None) -> None:
        """Mark ``transfer`` done (or failed with ``error``) and publish it (idempotent)."""
        if self._running.pop(transfer.id, None) is None:
            return
        now = self.clock.now()
        elapsed = now - transfer._t0
        transfer.rate_bps = transfer.bytes_done / elapsed if elapsed > 0 else 0.0
        transfer.finished = self.wall_clock()
        if error is None:
            transfer.state = "done"
        else:
            transfer.state = "failed"
            transfer.error = _describe(error)
            self.failed += 1
        transfer.reported = transfer.bytes_done
        self._finished.append(transfer)
        self.hub.publish("transfer.finished", {"transfer": transfer.as_json()})

    @contextlib.contextmanager
    def track(
        self,
        kind: TransferKind,
        *,
        name: str | None = None,
        content_hash: bytes | None = None,
        bytes_total: int | None = None,
        peer: str | None = None,
    ) -> Iterator[Transfer]:
        """``with tracker.track(...) as t:`` a transfer that ends with the block: failed with
        the exception that leaves it (cancelled included), done otherwise."""
        transfer = self.begin(
            kind, name=name, content_hash=content_hash, bytes_total=bytes_total, peer=peer
        )
        try:
            yield transfer
        except BaseException as exc:
            self.end(transfer, exc)
            raise
        self.end(transfer)

    async def close(self) -> None:
        """Stop the timer (at shutdown)."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None

    async def _tick(self) -> None:
        """While transfers run: sample each, publish progress for those that moved."""
        while self._running:
            await self.clock.sleep(TICK)
            now = self.clock.now()
            for transfer in tuple(self._running.values()):
                transfer._sample(now)
                if transfer.bytes_done != transfer.reported:
                    transfer.reported = transfer.bytes_done
                    self.hub.publish("transfer.progress", {"transfer": transfer.as_json()})


def _describe(error: BaseException | str) -> str:
    if isinstance(error, str):
        return error
    if isinstance(error, asyncio.CancelledError):
        return "cancelled"
    return str(error) or type(error).__name__


async def counted(chunks: AsyncIterator[Chunk], transfer: Transfer) -> AsyncGenerator[Chunk, None]:
    """``chunks`` passed through, their bytes added to ``transfer`` (for streams this node
    relays or reads whole, where no loop of its own sees the chunks). Closing it closes
    ``chunks`` too, so a stream cut short is ended at once, not when it is collected."""
    try:
        async for chunk in chunks:
            transfer.bytes_done += len(chunk.data)
            yield chunk
    finally:
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()
