"""Ring routes: this node's identity and tables, its known peers, lookups and the ring walk.

Routes stay thin: validate, call the node, convert with :mod:`chordshare.api.views`. Errors are
raised as chordshare exceptions and mapped to HTTP statuses by :mod:`chordshare.api.errors`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from chordshare.api.deps import NodeDep
from chordshare.api.errors import error_responses
from chordshare.api.inputs import MAX_KEY_BYTES, key_bytes, parse_ring_id
from chordshare.api.schemas.ring import LookupAnswer, NodeView, PeerList, RingWalk
from chordshare.api.views import lookup_answer, node_view, peer_list, ring_walk
from chordshare.errors import InvalidInput
from chordshare.node.ring.walk import DEFAULT_WALK_LIMIT, MAX_WALK_LIMIT, walk_ring

router = APIRouter(prefix="/api/v1")


@router.get(
    "/node",
    tags=["ring", "discovery"],
    summary="This node: identity and routing state (the discovery document)",
    description="The node's id (lowercase hex), gRPC address and REST URL, with its "
    "predecessor, successor list and finger table (runs of equal entries). **Discovery:** a "
    "joining node that knows only a seed's REST URL reads `id` and `grpc_address` here, checks "
    "`ring_bits` against its own, and joins through that peer over gRPC.",
    response_model=NodeView,
)
async def get_node(node: NodeDep) -> NodeView:
    return node_view(node)


@router.get(
    "/peers",
    tags=["ring", "discovery"],
    summary="Peers this node knows (peer exchange)",
    description="Every distinct peer in the successor list, finger table and predecessor, in "
    "ring order after this node. Nodes exchange this list to learn about each other.",
    response_model=PeerList,
)
async def get_peers(node: NodeDep) -> PeerList:
    return peer_list(node)


KEY_DESCRIPTION = (
    f"Any non-empty text up to {MAX_KEY_BYTES} UTF-8 bytes (e.g. a file name), percent-encoded. "
    "Its ring id is SHA-1 of its UTF-8 bytes mod 2**m."
)


RoutedQuery = Annotated[
    bool,
    Query(
        description="Route the key hop by hop even when an arc an earlier lookup confirmed holds "
        "it (the answer is the same; the hops and path are those of a real route)."
    ),
]


@router.get(
    "/lookup/{key:path}",
    tags=["ring"],
    summary="Find the owner of a key",
    description="Hashes `key` onto the ring and runs an iterative lookup from this node. "
    "Keys may contain `/`. Keys that are exactly `.` or `..` cannot travel in a URL path; use "
    "`GET /api/v1/lookup?key=...` for those.",
    response_model=LookupAnswer,
    responses=error_responses(400, 422, 503, 504),
)
async def lookup_key(
    node: NodeDep,
    key: Annotated[str, Path(description=KEY_DESCRIPTION, examples=["holiday.jpg"])],
    routed: RoutedQuery = False,
) -> LookupAnswer:
    key_bytes(key)
    return lookup_answer(node.space, key, await node.lookup_key(key, routed=routed))


@router.get(
    "/lookup",
    tags=["ring"],
    summary="Find the owner of a key or of a raw ring id",
    description="Give exactly one of `key` (hashed as in `/lookup/{key}`) or `id` (a ring id "
    "in hex, looked up as is; bad hex or an id outside [0, 2**m) is a 400).",
    response_model=LookupAnswer,
    responses=error_responses(400, 422, 503, 504),
)
async def lookup_query(
    node: NodeDep,
    key: Annotated[str | None, Query(description=KEY_DESCRIPTION)] = None,
    key_id: Annotated[
        str | None,
        Query(alias="id", description="Ring id in hex (either case).", examples=["0a1b2c3d"]),
    ] = None,
    routed: RoutedQuery = False,
) -> LookupAnswer:
    if (key is None) == (key_id is None):
        raise InvalidInput("give exactly one of the query parameters 'key' and 'id'")
    if key is not None:
        key_bytes(key)
        return lookup_answer(node.space, key, await node.lookup_key(key, routed=routed))
    assert key_id is not None
    ident = parse_ring_id(node.space, key_id)
    return lookup_answer(node.space, None, await node.find_successor(ident, routed=routed))


@router.get(
    "/ring",
    tags=["ring"],
    summary="Walk the ring along successors",
    description="Starting here, asks each next node for its successor list (over gRPC) until "
    "the walk returns to this node (`closed`), collects `limit` nodes, finds the chain "
    "inconsistent (`wrapped`), or no successor answers (`dead_end`). Successors that do not "
    "answer are skipped and listed in `unreachable`. Costs one RPC per node.",
    response_model=RingWalk,
    responses=error_responses(422),
)
async def get_ring(
    node: NodeDep,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_WALK_LIMIT,
            description=f"Most nodes to collect (1..{MAX_WALK_LIMIT}).",
        ),
    ] = DEFAULT_WALK_LIMIT,
) -> RingWalk:
    return ring_walk(node.space, await walk_ring(node, limit))
