"""Ring events: what changed in a node's routing state, published on its :class:`EventHub`.

The routing table (``chordshare.ring``) is pure and does not announce its changes, so the node
compares the table with a snapshot after each step that can change it (the RPC handlers and
maintenance steps of :class:`ChordNode`, decorated with :func:`observed`) and publishes the
differences:

* ``ring.successor`` / ``ring.predecessor`` ``{"peer": Peer | null}``: the first successor or
  the predecessor is another node (or none) than at the last check;
* ``ring.finger`` ``{"index": i, "peer": Peer}``: finger ``i`` now points at ``peer``. Fingers
  that share a successor change together (joining fills all m = 160 with the first successor),
  so a run of consecutive fingers that changed to the same peer is one event, for its first
  index. A finger emptied (its peer failed) is not an event: ``peer.dead`` says why;
* ``peer.seen`` ``{"peer": Peer}``: a node this one had not known (in its successors, fingers
  or predecessor) since it started or since it last declared that node dead;
* ``peer.dead`` ``{"peer": Peer, "reason": "failed" | "left" | "replaced"}``: a peer removed from
  the tables because it stopped answering, left gracefully, or another node answers at its
  address. Called by the node where it decides that, not by the snapshot comparison.

A check costs a comparison of the m fingers and the successor list: far less than the RPCs of
the step it follows; lookups, the hot path, are not checked.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from chordshare.node.events import EventHub
from chordshare.ring import IdSpace, PeerRef, RoutingTable

P = ParamSpec("P")
R = TypeVar("R")


def peer_data(space: IdSpace, peer: PeerRef | None) -> dict[str, str] | None:
    """A peer as events carry it: the REST ``Peer`` schema's fields."""
    if peer is None:
        return None
    return {"id": space.hex(peer.id), "grpc_address": peer.grpc_address, "http_url": peer.http_url}


def _ident(peer: PeerRef | None) -> int | None:
    return None if peer is None else peer.id


class RingObserver:
    """Publishes the changes of one routing table (see the module docstring)."""

    def __init__(self, space: IdSpace, table: RoutingTable, hub: EventHub) -> None:
        self.space = space
        self.table = table
        self.hub = hub
        self._successor: int | None = None
        self._predecessor: int | None = None
        self._fingers: list[PeerRef | None] = table.fingers.entries()
        self._known: set[int] = set()
        self._successors: tuple[PeerRef, ...] = ()
        self.changes = 0
        """How many checks found the successor list or the predecessor changed: maintenance
        stabilizes sooner while this moves (see ``chordshare.node.ring.maintenance``)."""
        self._dead: set[int] = set()
        """Declared dead but still in some table (a dead predecessor that is also a successor
        until stabilize drops it): not "seen" again meanwhile."""

    def check(self) -> None:
        """Compare the table with the last check and publish what changed."""
        table, hub = self.table, self.hub
        present = table.known_peers()
        if self._dead:
            self._dead.intersection_update(p.id for p in present)
        for peer in present:
            if peer.id not in self._known and peer.id not in self._dead:
                self._known.add(peer.id)
                hub.publish("peer.seen", {"peer": self._peer(peer)})
        successors = table.successors.peers()
        pred = table.predecessor
        if successors != self._successors or _ident(pred) != self._predecessor:
            self._successors = successors
            self.changes += 1
        succ = table.successors.first
        if _ident(succ) != self._successor:
            self._successor = _ident(succ)
            hub.publish("ring.successor", {"peer": self._peer(succ)})
        if _ident(pred) != self._predecessor:
            self._predecessor = _ident(pred)
            hub.publish("ring.predecessor", {"peer": self._peer(pred)})
        fingers = table.fingers.entries()
        if fingers != self._fingers:
            self._publish_fingers(self._fingers, fingers)
            self._fingers = fingers

    def dead(self, peer: PeerRef, reason: str) -> None:
        """``peer`` was removed from the tables (``reason``: failed, left, replaced)."""
        if peer.id in self._dead:
            return
        self._known.discard(peer.id)
        self._dead.add(peer.id)
        self.hub.publish("peer.dead", {"peer": self._peer(peer), "reason": reason})

    def _publish_fingers(self, old: list[PeerRef | None], new: list[PeerRef | None]) -> None:
        previous: PeerRef | None = None
        for index, (was, now) in enumerate(zip(old, new, strict=True)):
            changed = now is not None and _ident(was) != now.id
            if changed and (previous is None or previous.id != _ident(now)):
                self.hub.publish("ring.finger", {"index": index, "peer": self._peer(now)})
            previous = now if changed else None

    def _peer(self, peer: PeerRef | None) -> dict[str, str] | None:
        return peer_data(self.space, peer)


class Observed(Protocol):
    @property
    def observer(self) -> RingObserver: ...


S = TypeVar("S", bound=Observed)


def observed(
    method: Callable[Concatenate[S, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """Decorate a node method that may change the routing table: check it afterwards (also
    when the method fails half-way, since what it changed by then has changed)."""

    async def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(self, *args, **kwargs)
        finally:
            self.observer.check()

    functools.update_wrapper(wrapper, method)
    return wrapper
