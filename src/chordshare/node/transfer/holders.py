"""Where an upload goes: the owner of a name and the owner's own successors.

:class:`chordshare.node.transfer.upload.Uploader` takes the owner and the successors a lookup
reports. Those are the successors *as the last node asked saw them*, cut where its successor list
ends and without the node that started the lookup, so in a ring of four a lookup may name the owner
and one successor only: the uploader would then take the ring for a ring of two and stop at two
holders of k = 3. :class:`HolderLocator` asks the owner itself for its successor list (the nodes
that replicate its range, DESIGN.md §4) and hands that to the uploader instead, so it finds k
holders whenever the ring has k nodes, plus spares to replace holders that fail.

A lookup that confirms its owner (the default) already returns the owner's own list, so this
only asks again when the answer was not confirmed (``lookup_failover`` off, or the owner was the
node asked) and came back short.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from chordshare.errors import PeerError
from chordshare.node.ring.chord import ChordNode
from chordshare.node.ring.lookup import LookupResult
from chordshare.ring import IdSpace, PeerRef

log = logging.getLogger(__name__)


class HolderLocator:
    """A :class:`chordshare.node.transfer.upload.Locator` whose answers list the owner's
    successors."""

    def __init__(self, node: ChordNode, replicas: int) -> None:
        self.node = node
        self.replicas = replicas
        self.space: IdSpace = node.space

    async def find_successor(self, key: int, start: PeerRef | None = None) -> LookupResult:
        found = await self.node.find_successor(key, start)
        if len(found.successors) >= self.replicas - 1:
            return found
        owner = found.owner
        if owner.id == self.node.me.id:
            return replace(found, successors=self.node.table.successors.peers())
        try:
            info = await self.node.client.get_node_info(owner)
        except PeerError as exc:  # the uploader finds out about the owner itself
            log.info("owner %s did not list its successors: %s", owner.grpc_address, exc)
            return found
        mine = [p for p in info.successors if p.id != owner.id]
        return replace(found, successors=tuple(mine) or found.successors)
