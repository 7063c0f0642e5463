"""Walk the ring along successor pointers, asking each node for its view (``GET /api/v1/ring``).

The walk starts at the local node and asks each next node for its ``NodeInfo`` through the node's
own :class:`PeerClient`, so it sees the ring the way stabilize does. It ends when:

* ``closed``: the next successor is the start again (the ring is one cycle through us);
* ``limit``: ``limit`` nodes were collected;
* ``wrapped``: the next successor lies at or behind the last node walked, measured clockwise from
  the start. Walking a consistent ring, the clockwise distance from the start strictly grows
  until the walk returns to the start, so this is the cycle check: it catches a chain that loops
  without the start, passes the start by (a predecessor that has not yet learned about us), or a
  node that names itself as its successor;
* ``dead_end``: no successor of the last node answered.

A successor that does not answer (or answers with another id) is reported in ``unreachable`` and
the walk tries the next entry of the same successor list, as stabilize would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from chordshare.errors import PeerError
from chordshare.ring import PeerRef
from chordshare.transport.ports.ring import NodeInfo

if TYPE_CHECKING:  # the API's schemas import RingStop: not the ring algorithms with it
    from chordshare.node.ring.chord import ChordNode

RingStop = Literal["closed", "limit", "wrapped", "dead_end"]
"""Why a walk ended (see the module docstring)."""

DEFAULT_WALK_LIMIT = 1024
"""Default number of nodes collected: the walk costs one sequential RPC per node, so 1,024 nodes
take well under a second on a LAN and about a minute across a 50 ms WAN."""

MAX_WALK_LIMIT = 8192
"""Largest ``limit`` accepted. The walk is a diagnostic, not a census: 8,192 sequential RPCs
already take minutes across a WAN, longer than HTTP clients wait. For larger rings read
``estimated_nodes`` from ``GET /api/v1/node`` instead."""


@dataclass
class WalkResult:
    nodes: list[PeerRef]
    stopped: RingStop = "limit"
    unreachable: list[PeerRef] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return self.stopped == "closed"


async def walk_ring(node: ChordNode, limit: int = DEFAULT_WALK_LIMIT) -> WalkResult:
    """Collect at most ``limit`` nodes in successor order, starting with ``node`` itself."""
    if not 1 <= limit <= MAX_WALK_LIMIT:
        raise ValueError(f"limit must be in 1..{MAX_WALK_LIMIT}, got {limit}")
    space = node.space
    start = node.me
    result = WalkResult(nodes=[start])
    info = await node.get_node_info()
    travelled = 0  # clockwise distance from the start to the last node walked
    while True:
        # A node with an empty successor list believes it is alone: its successor is itself.
        candidates = info.successors or (info.peer,)
        following: NodeInfo | None = None
        for candidate in candidates:
            if candidate.id == start.id:
                result.stopped = "closed"
                return result
            if space.distance(start.id, candidate.id) <= travelled:
                result.stopped = "wrapped"
                return result
            if len(result.nodes) >= limit:
                result.stopped = "limit"
                return result
            try:
                answer = await node.client.get_node_info(candidate)
            except PeerError:
                result.unreachable.append(candidate)
                continue
            if answer.peer.id != candidate.id:
                # Something else now listens at that address (a restart with a new identity).
                result.unreachable.append(candidate)
                continue
            following = answer
            break
        if following is None:
            result.stopped = "dead_end"
            return result
        result.nodes.append(following.peer)
        travelled = space.distance(start.id, following.peer.id)
        info = following
