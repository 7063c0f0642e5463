"""Joining, leaving and merging rings: how a node enters, exits and heals the ring.

Zave's corrected protocol (IEEE TSE 2017): a joining node copies a member's successor list and
rectifies its successor; a graceful leave tells both neighbours; a split ring is healed by making
the two rings cross (DESIGN.md section 4). These run on a :class:`ChordNode`'s tables and client.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from chordshare.errors import JoinFailed, LookupFailed, PeerError
from chordshare.ring import PeerRef

if TYPE_CHECKING:
    from chordshare.node.ring.chord import ChordNode

log = logging.getLogger(__name__)


async def join(node: ChordNode, seed: PeerRef) -> None:
    """Join the ring through ``seed``: find our successor, copy its successor list (Zave),
    and tell it about us so it need not wait for a stabilize round."""
    if seed.id == node.me.id:
        if seed.grpc_address == node.me.grpc_address:
            return  # joining through ourselves: we are the ring
        raise JoinFailed(
            f"node id {node.space.short(node.me.id)} is already taken by {seed.grpc_address}"
        )
    try:
        found = await node.find_successor(node.me.id, start=seed)
    except LookupFailed as exc:
        raise JoinFailed(f"could not find our place through {seed.grpc_address}: {exc}") from exc
    successor = found.owner
    if successor.id == node.me.id:
        if successor.grpc_address != node.me.grpc_address:
            raise JoinFailed(
                f"node id {node.space.short(node.me.id)} is already taken by "
                f"{successor.grpc_address}"
            )
        return  # already a member (a re-join after a restart with the same identity)
    info = None
    for candidate in (successor, *found.successors):
        # A dead owner not yet repaired: the next live node in its list is our successor.
        if candidate.id == node.me.id:
            break
        try:
            info = await node.client.get_node_info(candidate)
        except PeerError:
            continue
        if not node.checks.saw(candidate, info):
            info = None
            continue
        successor = candidate
        break
    if info is None:
        raise JoinFailed(f"no live successor found through {seed.grpc_address}")
    node.table.predecessor = None
    node.table.successors.adopt(successor, await node.checks.keep(info.successors))
    node.table.fingers.fill_from(0, successor)
    node.left = False
    await node.rectify_successor()
    log.info("joined through %s; successor %s", seed.grpc_address, node.name(successor))


async def leave(node: ChordNode) -> None:
    """Graceful leave: hand both neighbours what they need to close the gap at once."""
    node.left = True
    node.events.publish("node.leaving")
    pred, succ = node.table.predecessor, node.table.successor
    peers = node.table.successors.peers()
    for target in (pred, succ):
        if target is None or target.id == node.me.id:
            continue
        try:
            await node.client.leave_notice(target, node.me, pred, peers)
        except PeerError as exc:
            log.warning("could not tell %s we are leaving: %s", node.name(target), exc)


async def merge_through(node: ChordNode, seed: PeerRef) -> bool:
    """Heal a split ring (DESIGN.md §4): look ourselves up through ``seed``. If that ring does
    not contain us, make the two rings cross at two points, then stabilize zips them
    together (each node adopts a predecessor of its successor that lies between them):

    * offer ourselves to the other ring: the node there that follows our id takes us as its
      predecessor (rectify), so its old predecessor adopts us as successor;
    * offer that node to our ring the same way, at the node of ours that follows its id;
    * fold the other ring's nodes near us into our own successor list.

    Every node runs this periodically through its seeds, so nodes that a first crossing left
    behind are pulled in by their own checks. Returns whether the seed's ring was foreign."""
    if seed.id == node.me.id:
        return False
    try:
        found = await node.find_successor(node.me.id, start=seed)
    except LookupFailed:
        return False
    if found.owner.id == node.me.id:
        return False
    other = found.owner
    if not await node.checks.confirmed(other):
        return False
    await _offer(node, other, node.me)
    try:
        ours = await node.find_successor(other.id)
    except LookupFailed:
        ours = None
    if ours is not None and ours.owner.id not in (other.id, node.me.id):
        await _offer(node, ours.owner, other)
    before = node.table.successor.id
    node.table.learn([other, *await node.checks.keep(found.successors)])
    if node.table.successor.id != before:
        await node.rectify_successor()
    log.info("ring merge: %s belongs to another ring", node.name(other))
    return True


async def _offer(node: ChordNode, target: PeerRef, candidate: PeerRef) -> None:
    try:
        await node.client.rectify(target, candidate)
    except PeerError as exc:
        log.debug("merge: %s did not take %s: %s", node.name(target), candidate, exc)
