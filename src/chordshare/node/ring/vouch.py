"""Checks on a lookup's answers: a step is believed only if it could be true, and an owner only
if its own predecessor agrees.

A responder on the ring knows which interval its answer must fall in: a final answer for key
``k`` from node ``r`` names an owner ``o`` with ``k`` in ``(r, o]``; a next hop lies in ``(r, k)``
(strictly closer to the key, so a path cannot loop); every peer named must have an id that
derives from its address. The owner named is then asked for its node info (with an id that must
be its own), and its predecessor ``p`` must agree: ``k`` in ``(p, o]`` and ``p``'s successor is
``o``. A node that names itself as owner is checked like any other (S/Kademlia's sibling check,
reduced to Chord's one neighbour).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from chordshare.errors import PeerError
from chordshare.ring import IdSpace, NextHop, PeerRef, in_half_open, in_open
from chordshare.transport.ports.ring import NodeInfo, PeerClient


class Refused(Exception):
    """The owner named could not be confirmed: the responder's answer is discarded."""

    def __init__(self, owner: PeerRef) -> None:
        super().__init__(owner)
        self.owner = owner


class StepCheck:
    """The checks of one lookup (stateless but for the peers it was given)."""

    def __init__(
        self,
        space: IdSpace,
        client: PeerClient,
        origin: PeerRef,
        derives: Callable[[PeerRef], bool] | None,
        own_successors: Callable[[], Sequence[PeerRef]] | None,
    ) -> None:
        self.space = space
        self.client = client
        self.origin = origin
        self._derives = derives
        self._own_successors = own_successors

    def derives(self, peer: PeerRef) -> bool:
        return self._derives is None or self._derives(peer)

    def plausible(self, responder: PeerRef, key: int, step: NextHop) -> bool:
        """Whether ``step`` from ``responder`` could be a true answer for ``key``."""
        if not all(self.derives(p) for p in step.peers):
            return False
        if not step.peers:
            return True  # nothing claimed: the lookup backtracks
        size = self.space.size
        if step.done:
            return in_half_open(key, responder.id, step.peers[0].id, size)
        return all(in_open(p.id, responder.id, key, size) for p in step.peers)

    async def vouched(
        self,
        key: int,
        owner: PeerRef,
        info: NodeInfo,
        responder: PeerRef,
        start: PeerRef | None,
        excluded: Collection[int],
        distrusted: Collection[int] = (),
    ) -> PeerRef | None:
        """The owner of ``key`` as ``owner``'s predecessor sees it: ``owner`` when it agrees, a
        newer node between them when the key falls to that one, None when the claim fails."""
        size = self.space.size
        pred = info.predecessor
        if pred is None or (pred.id in excluded and pred.id not in distrusted):
            # none, or dead: nobody can vouch
            return self._unvouched(owner, info, responder, start)
        if not in_half_open(key, pred.id, owner.id, size):
            return None  # the owner's own predecessor puts the key outside its range
        if pred.id in distrusted:
            return self._unvouched(owner, info, responder, start)
        if pred.id == responder.id and owner.id != responder.id:
            return owner  # the responder is that predecessor: its answer already said so
        view = await self._successors_of(pred)
        if view is None:
            return self._unvouched(owner, info, responder, start)
        following = next((p for p in view if p.id not in excluded and self.derives(p)), None)
        if following is None:
            return self._unvouched(owner, info, responder, start)
        if following.id == owner.id:
            return owner
        if in_open(following.id, pred.id, owner.id, size):
            # the predecessor already knows a node that joined just before the owner
            return following if in_half_open(key, pred.id, following.id, size) else owner
        return None  # the predecessor does not know the owner as its successor

    async def _successors_of(self, peer: PeerRef) -> Sequence[PeerRef] | None:
        if peer.id == self.origin.id:
            return self._own_successors() if self._own_successors is not None else None
        try:
            answer = await self.client.get_node_info(peer)
        except PeerError:
            return None
        return answer.successors if answer.peer.id == peer.id else None

    def _unvouched(
        self, owner: PeerRef, info: NodeInfo, responder: PeerRef, start: PeerRef | None
    ) -> PeerRef | None:
        """No predecessor can vouch (none known, or it is gone): two different nodes (the
        responder and the owner) agreeing is accepted, a node naming itself is not, except a
        lone node asked directly (a join through a seed that is alone)."""
        if owner.id != responder.id:
            return owner
        alone = all(p.id == owner.id for p in info.successors)
        if start is not None and owner.id == start.id and alone:
            return owner
        return None
