"""Lookups that skip the routing: guess the owner from arcs seen before, then check the guess
with the nodes it names.

A confirmed lookup ends knowing the owner ``o`` of its key and ``o``'s predecessor ``p``, and a
confirmed owner's successor list names the nodes after it: each consecutive pair is an arc
``(p, o]`` that :class:`OwnerCache` keeps (for ``ARC_TTL`` seconds, and until the node that
keeps it sees its own neighbourhood change). A later key in a kept arc is checked instead of
routed:

* an arc not vouched for within ``vouch_ttl`` seconds (or only heard of, from a list) is asked
  of both its ends at once (one round trip): it stands only if ``o`` answers with its id and
  names ``p`` as its predecessor, the key is in ``(p, o]``, and ``p`` answers with its id and
  names ``o`` as its first successor: the checks a routed lookup ends with
  (:mod:`chordshare.node.ring.vouch`), made at once because both nodes are known in advance;
* an arc vouched for since costs one call to ``o``, which must still name ``p``.

A node that joined in the arc has told ``o`` (its ``rectify``), so ``o`` names it; a crashed
``o`` does not answer (a crashed ``p`` leaves the key with ``o``, as the guess says); a liar that
planted the arc needs the other end to agree, and an honest one does not. In every such case the
arc is dropped and the key is routed as if nothing was kept. The one-call check trusts ``o`` not
to hide a newer predecessor for ``vouch_ttl``: a routed lookup trusts ``p`` alike until ``p``
stabilizes (one stabilize interval), which is why that interval is the default.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from chordshare.clock import Clock
from chordshare.errors import PeerError
from chordshare.ring import IdSpace, PeerRef
from chordshare.ring.arcs import Arc, ArcMap
from chordshare.transport.ports.ring import NodeInfo, PeerClient

ARC_TTL = 30.0
"""Seconds an arc is kept. Each use checks it anyway: the bound only keeps a node from asking
about a stretch of the ring it has not confirmed for a long time."""

ARC_CAPACITY = 1024
"""Arcs kept (the oldest go first): a ring of 1,024 nodes entirely."""


class OwnerCache:
    """The arcs one node (or one client) learnt from its confirmed lookups.

    ``changes``: a counter of changes the keeper saw in its own routing state (the node's
    :attr:`RingObserver.changes`); every arc is dropped when it moved, since a ring that
    changed near us may have changed in the arcs too.
    """

    def __init__(
        self,
        space: IdSpace,
        clock: Clock,
        *,
        vouch_ttl: float,
        ttl: float = ARC_TTL,
        capacity: int = ARC_CAPACITY,
        changes: Callable[[], int] | None = None,
    ) -> None:
        self.space = space
        self.clock = clock
        self.vouch_ttl = vouch_ttl
        self.ttl = ttl
        self.arcs = ArcMap(space, capacity)
        self._changes = changes
        self._seen = changes() if changes is not None else 0
        self.hits = 0
        """Lookups answered from an arc."""
        self.misses = 0
        """Arcs that failed their check (then dropped)."""

    def find(self, key: int) -> Arc | None:
        if self._changes is not None:
            seen = self._changes()
            if seen != self._seen:
                self._seen = seen
                self.arcs.clear()
        return self.arcs.find(key, self.clock.now())

    def learn(self, pred: PeerRef, owner: PeerRef, successors: Sequence[PeerRef]) -> None:
        """A lookup confirmed ``owner`` with predecessor ``pred``; ``successors``: the owner's
        own list (checked peers only). Every arc is kept as heard of: only :meth:`check`
        vouches for one, by asking both its ends (a routed lookup may have confirmed the
        owner for its key without ``pred`` agreeing on the whole arc)."""
        expires = self.clock.now() + self.ttl
        before = pred
        for peer in (owner, *successors):
            self.arcs.put(before, peer, expires)
            before = peer

    def fresh(self, arc: Arc) -> bool:
        """Whether both ends of ``arc`` agreed within ``vouch_ttl``."""
        return arc.vouched is not None and self.clock.now() - arc.vouched < self.vouch_ttl

    def forget(self, peer: PeerRef) -> None:
        """``peer`` failed a call: no arc names it any more."""
        self.arcs.forget(peer.id)

    async def check(
        self,
        client: PeerClient,
        arc: Arc,
        key: int,
        origin: PeerRef,
        own_successors: Callable[[], Sequence[PeerRef]] | None,
        derives: Callable[[PeerRef], bool],
    ) -> NodeInfo | None:
        """The owner's node info if ``arc`` passes its check for ``key`` (see the module
        docstring), else None; a two-ended check that passed vouches for the arc again. The
        origin answers for itself from its own table."""
        owner, pred = arc.owner, arc.pred
        if owner.id == origin.id or not arc.holds(key, self.space.size):
            return None
        if not (derives(owner) and derives(pred)):
            return None
        if pred.id == origin.id:
            ours = own_successors() if own_successors is not None else ()
            if not ours or ours[0].id != owner.id:
                return None
            return await _named_by(client, owner, pred)
        if self.fresh(arc):
            return await _named_by(client, owner, pred)
        answers = await asyncio.gather(
            client.get_node_info(owner), client.get_node_info(pred), return_exceptions=True
        )
        for answer in answers:
            if isinstance(answer, BaseException) and not isinstance(answer, PeerError):
                raise answer  # a bug, not a peer's fault
        theirs, before = answers
        if not isinstance(theirs, NodeInfo) or not isinstance(before, NodeInfo):
            return None  # one of them did not answer: route the key instead
        if not _names(theirs, owner, pred) or before.peer.id != pred.id:
            return None
        following = before.successors[0] if before.successors else None
        if following is None or following.id != owner.id:
            return None
        now = self.clock.now()
        self.arcs.put(pred, owner, now + self.ttl, vouched=now)
        return theirs


async def _named_by(client: PeerClient, owner: PeerRef, pred: PeerRef) -> NodeInfo | None:
    """``owner``'s node info if it answers and names ``pred`` as its predecessor."""
    try:
        info = await client.get_node_info(owner)
    except PeerError:
        return None
    return info if _names(info, owner, pred) else None


def _names(info: NodeInfo, owner: PeerRef, pred: PeerRef) -> bool:
    """``info`` is ``owner``'s and names ``pred`` as its predecessor."""
    named = info.predecessor
    return info.peer.id == owner.id and named is not None and named.id == pred.id
