"""The holders of a key: its owner, then its successors, as a publish or a read tries them."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from chordshare.errors import LookupFailed
from chordshare.node.ring.chord import ChordNode
from chordshare.ring import PeerRef


async def key_holders(node: ChordNode, key: int, replicas: int) -> AsyncGenerator[PeerRef, None]:
    """The key's owner, then its successors: up to ``replicas`` distinct nodes, in ring order.

    A lookup names the owner and the successors the last node asked knows after it; when that
    list ends early (the key fell at the end of a successor list) and the nodes named are dead,
    the next holders are found by looking up the id just past the last one named. A lookup that
    fails ends the sequence (the first one's failure propagates)."""
    result = await node.find_successor(key)
    seen: set[int] = set()
    while True:
        fresh = [p for p in (result.owner, *result.successors) if p.id not in seen]
        if not fresh:
            return
        for peer in fresh:
            seen.add(peer.id)
            yield peer
            if len(seen) >= replicas:
                return
        try:
            result = await node.find_successor(node.space.add(fresh[-1].id, 1))
        except LookupFailed:
            return
