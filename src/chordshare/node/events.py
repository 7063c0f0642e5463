"""The node's event stream: what changed in this node, as it changes, for whoever listens.

The node algorithms call :meth:`EventHub.publish` where their state changes (ring neighbours,
fingers, peers seen or declared dead, transfers, repairs, records). Listeners (the REST
``/api/v1/events`` stream, tests) :meth:`EventHub.subscribe` and iterate.

Publishing must never slow the node, so it never waits: each subscriber has a bounded queue
(:data:`QUEUE_LIMIT` events); a subscriber that lets its queue fill up is dropped (its iterator
ends, :attr:`EventHub.drops` counts it) instead of making the node buffer without bound or
block. A dropped listener reconnects and asks for what it missed by sequence number: the hub
keeps the last :data:`RECENT` events for that replay.

Everything runs on the event loop thread (``publish`` is not thread-safe). Times are read from an
injected wall clock (unix seconds, as the event's ``time``), so tests can fix them.

To emit from another part of the node: take the hub (``ChordNode.events``; every node has one),
and call ``hub.publish("record.added", {...})`` with a JSON-ready dict (see the kinds listed in
:mod:`chordshare.api.schemas.events`).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

QUEUE_LIMIT = 1000
"""Events a subscriber may fall behind by before it is dropped: a few seconds of the busiest
node's events (progress at 4/s per transfer plus ring changes), and a bounded 1,000 small dicts
of memory per listener."""

RECENT = 256
"""Events kept for replay by sequence number (``?since=`` / ``Last-Event-ID``): enough for a
listener that reconnects after a dropped connection of a few seconds."""

JsonData = Mapping[str, object]
"""An event's payload: JSON-ready values only (str, int, float, bool, None, lists, dicts)."""


@dataclass(frozen=True, slots=True)
class Event:
    """One event: ``seq`` counts from 1 on each node (a restarted node starts again at 1)."""

    seq: int
    time: float
    kind: str
    data: JsonData

    def as_json(self) -> dict[str, object]:
        return {"seq": self.seq, "time": self.time, "kind": self.kind, "data": dict(self.data)}


class Subscription:
    """One listener's queue; iterate it (``async for event in sub``) until it ends: when the
    listener closes it, when the hub drops it for falling behind, or when the hub closes."""

    __slots__ = ("_hub", "_items", "_wake", "closed", "dropped", "limit")

    def __init__(self, hub: EventHub, limit: int) -> None:
        self._hub = hub
        self._items: deque[Event] = deque()
        self._wake = asyncio.Event()
        self.limit = limit
        self.closed = False
        self.dropped = False
        """Whether the hub dropped this subscriber because its queue was full."""

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        while not self._items:
            if self.closed:
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()
        return self._items.popleft()

    @property
    def pending(self) -> int:
        """Events queued and not read yet."""
        return len(self._items)

    def close(self) -> None:
        """Stop listening (idempotent); events already queued are still read, then it ends."""
        self._hub._subscribers.discard(self)
        self.closed = True
        self._wake.set()

    def _offer(self, event: Event) -> bool:
        """Queue ``event``; False (and ended, its queue emptied) when it was full."""
        if len(self._items) >= self.limit:
            self._items.clear()
            self.dropped = True
            self.closed = True
            self._wake.set()
            return False
        self._items.append(event)
        self._wake.set()
        return True


class EventHub:
    """Fan-out of a node's events to its subscribers, with a short replay history."""

    def __init__(
        self,
        *,
        wall_clock: Callable[[], float] = time.time,
        queue_limit: int = QUEUE_LIMIT,
        recent: int = RECENT,
    ) -> None:
        if queue_limit < 1 or recent < 0:
            raise ValueError("queue_limit must be >= 1 and recent >= 0")
        self.wall_clock = wall_clock
        self.queue_limit = queue_limit
        self._recent: deque[Event] = deque(maxlen=recent)
        self._subscribers: set[Subscription] = set()
        self._seq = 0
        self.published = 0
        self.drops = 0
        """Subscribers dropped because they fell :attr:`queue_limit` events behind."""
        self.closed = False

    @property
    def last_seq(self) -> int:
        """The sequence number of the latest event (0 before the first)."""
        return self._seq

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, kind: str, data: JsonData | None = None) -> Event:
        """Record an event and hand it to every subscriber, never waiting; returns it."""
        self._seq += 1
        event = Event(self._seq, self.wall_clock(), kind, data if data is not None else {})
        self._recent.append(event)
        self.published += 1
        if self._subscribers:
            for sub in tuple(self._subscribers):
                if not sub._offer(event):
                    self._subscribers.discard(sub)
                    self.drops += 1
        return event

    def recent(self, since: int = 0) -> list[Event]:
        """The kept events with a sequence number above ``since``, oldest first."""
        if since <= 0:
            return list(self._recent)
        return [e for e in self._recent if e.seq > since]

    def subscribe(self, since: int | None = None) -> Subscription:
        """A new listener. With ``since``, it first gets the kept events after that sequence
        number (all that are still kept, if some were already forgotten), then the live ones,
        with no gap and no repeat between the two."""
        sub = Subscription(self, self.queue_limit)
        if self.closed:
            sub.closed = True
            return sub
        if since is not None:
            for event in self.recent(since)[-self.queue_limit :]:
                sub._items.append(event)
        self._subscribers.add(sub)
        return sub

    def close(self) -> None:
        """End every subscription (at shutdown, so that open streams finish); later
        subscriptions end at once. Publishing still records events for :meth:`recent`."""
        self.closed = True
        for sub in tuple(self._subscribers):
            sub.close()
