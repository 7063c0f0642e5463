"""Ring domain values -> REST schemas: how a node, its peers, a lookup and a ring walk are shown
over REST (the file routes reuse :func:`peer_view` for the holders they name)."""

from __future__ import annotations

from itertools import groupby

from chordshare.api.schemas.ring import FingerRun, LookupAnswer, NodeView, Peer, PeerList, RingWalk
from chordshare.node.ring.chord import ChordNode
from chordshare.node.ring.lookup import LookupResult
from chordshare.node.ring.walk import WalkResult
from chordshare.ring import IdSpace, PeerRef


def peer_view(space: IdSpace, ref: PeerRef) -> Peer:
    return Peer(id=space.hex(ref.id), grpc_address=ref.grpc_address, http_url=ref.http_url)


def finger_runs(node: ChordNode) -> list[FingerRun]:
    """Consecutive equal finger entries collapsed into runs; empty entries skipped."""
    space, fingers = node.space, node.table.fingers
    runs: list[FingerRun] = []
    indexed = enumerate(fingers.entries())
    for _, group in groupby(indexed, key=lambda item: None if item[1] is None else item[1].id):
        run = list(group)
        first, peer = run[0]
        if peer is None:
            continue
        runs.append(
            FingerRun(
                index=first,
                last_index=run[-1][0],
                start=space.hex(fingers.start(first)),
                peer=peer_view(space, peer),
            )
        )
    return runs


def node_view(node: ChordNode) -> NodeView:
    space, table = node.space, node.table
    return NodeView(
        id=space.hex(node.me.id),
        grpc_address=node.me.grpc_address,
        http_url=node.me.http_url,
        predecessor=None if table.predecessor is None else peer_view(space, table.predecessor),
        successors=[peer_view(space, p) for p in table.successors.peers()],
        fingers=finger_runs(node),
        ring_bits=space.bits,
        successor_list_size=table.successors.size,
        estimated_nodes=node.estimated_ring_size(),
    )


def peer_list(node: ChordNode) -> PeerList:
    return PeerList(
        node=peer_view(node.space, node.me),
        peers=[peer_view(node.space, p) for p in node.table.known_peers()],
    )


def lookup_answer(space: IdSpace, key: str | None, result: LookupResult) -> LookupAnswer:
    return LookupAnswer(
        key=key,
        key_id=space.hex(result.key),
        owner=peer_view(space, result.owner),
        successors=[peer_view(space, p) for p in result.successors],
        hops=result.hops,
        path=[peer_view(space, p) for p in result.path],
        timeouts=result.timeouts,
        cached=result.cached,
    )


def ring_walk(space: IdSpace, walk: WalkResult) -> RingWalk:
    return RingWalk(
        nodes=[peer_view(space, p) for p in walk.nodes],
        closed=walk.closed,
        stopped=walk.stopped,
        unreachable=[peer_view(space, p) for p in walk.unreachable],
    )
