"""The REST wire contract: pydantic v2 models shared by the server routes and the client.

These models are a public contract (the CLI, the dashboard and outside scripts read them):
fields may be added, never renamed or removed. Ring ids travel as lowercase hex, zero-padded to
the ring's width (``IdSpace.hex``), because a 160-bit id does not fit a JSON number that every
client can parse exactly. Models ignore unknown fields, so an older client keeps working against
a newer node.

This module depends on pydantic and the pure ``ring`` types only: the client imports it without
pulling in the node algorithms.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from chordshare.node.ring.walk import RingStop
from chordshare.ring import PeerRef

HEX_ID_PATTERN = r"^[0-9a-f]+$"
"""Ids in responses are lowercase hex (``IdSpace.hex``)."""

_EXAMPLE_ID = "5f1d7c3a"
_EXAMPLE_PEER: JsonDict = {
    "id": "5f1d7c3a",
    "grpc_address": "10.0.0.2:7000",
    "http_url": "http://10.0.0.2:8000",
}
_EXAMPLE_PEER_2: JsonDict = {
    "id": "9a0b44e1",
    "grpc_address": "10.0.0.3:7000",
    "http_url": "http://10.0.0.3:8000",
}


class _Schema(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Peer(_Schema):
    """A node of the ring: its id and how to reach it."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_PEER]})

    id: str = Field(pattern=HEX_ID_PATTERN, description="Ring id, lowercase hex.")
    grpc_address: str = Field(description="host:port of the node-to-node gRPC server.")
    http_url: str = Field(description="Base URL of the node's REST API ('' if unknown).")

    def to_ref(self) -> PeerRef:
        """The domain value (what ``ChordNode.join`` takes), e.g. for a seed found over REST."""
        return PeerRef(int(self.id, 16), self.grpc_address, self.http_url)


class FingerRun(_Schema):
    """A run of consecutive finger-table entries that point at the same peer.

    Entry ``i`` of the finger table should hold ``successor(self + 2**i)``; on a ring of N nodes
    most of the m entries repeat, so the node reports each run of equal entries once: ``index``
    and ``start`` describe the run's first entry, ``last_index`` its last. Empty entries (not yet
    filled by ``fix_fingers``, or beyond the last node) are skipped. The same peer may appear in
    two runs when a stale entry separates them.
    """

    index: int = Field(ge=0, description="0-based index of the run's first finger.")
    last_index: int = Field(ge=0, description="Index of the run's last finger (inclusive).")
    start: str = Field(
        pattern=HEX_ID_PATTERN, description="Start of the first finger: self + 2**index, hex."
    )
    peer: Peer


class NodeView(_Schema):
    """One node's identity and routing state: ``GET /api/v1/node``.

    This is also the discovery document: a joining node reads its seed's ``id`` and
    ``grpc_address`` here (and checks ``ring_bits`` matches its own).
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_EXAMPLE_PEER,
                    "predecessor": _EXAMPLE_PEER_2,
                    "successors": [_EXAMPLE_PEER_2],
                    "fingers": [
                        {"index": 0, "last_index": 31, "start": "5f1d7c3b", "peer": _EXAMPLE_PEER_2}
                    ],
                    "ring_bits": 32,
                    "successor_list_size": 16,
                    "estimated_nodes": 2,
                }
            ]
        }
    )

    id: str = Field(pattern=HEX_ID_PATTERN, description="This node's ring id, lowercase hex.")
    grpc_address: str
    http_url: str
    predecessor: Peer | None = Field(description="null until a predecessor is known.")
    successors: list[Peer] = Field(description="Successor list, in ring order.")
    fingers: list[FingerRun] = Field(description="Finger table, runs of equal entries.")
    ring_bits: int = Field(ge=1, description="m: ids are in [0, 2**m).")
    successor_list_size: int = Field(ge=1, description="r: capacity of the successor list.")
    estimated_nodes: int = Field(ge=1, description="Ring size estimated from successor density.")

    def peer(self) -> Peer:
        return Peer(id=self.id, grpc_address=self.grpc_address, http_url=self.http_url)


class PeerList(_Schema):
    """The peers a node knows (successors, fingers, predecessor): ``GET /api/v1/peers``.

    Nodes exchange this list for discovery; ``node`` is the answering node itself.
    """

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"node": _EXAMPLE_PEER, "peers": [_EXAMPLE_PEER_2]}]}
    )

    node: Peer
    peers: list[Peer] = Field(description="Distinct known peers, in ring order after `node`.")


class LookupAnswer(_Schema):
    """Who owns a key, and how the lookup got there: ``GET /api/v1/lookup``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "key": "holiday.jpg",
                    "key_id": "8c2e0f11",
                    "owner": _EXAMPLE_PEER_2,
                    "successors": [_EXAMPLE_PEER],
                    "hops": 1,
                    "path": [_EXAMPLE_PEER_2],
                    "timeouts": 0,
                }
            ]
        }
    )

    key: str | None = Field(description="The key looked up; null for a raw id lookup.")
    key_id: str = Field(
        pattern=HEX_ID_PATTERN,
        description="Ring id of the key: SHA-1 of its UTF-8 bytes mod 2**m, hex.",
    )
    owner: Peer = Field(description="successor(key_id): the node responsible for the key.")
    successors: list[Peer] = Field(description="Nodes after the owner (replica holders).")
    hops: int = Field(ge=0, description="Remote nodes asked; 0 when answered locally.")
    path: list[Peer] = Field(description="The remote nodes asked, in order.")
    timeouts: int = Field(ge=0, description="Peers that failed to answer during the lookup.")
    cached: bool = Field(
        False,
        description="Answered from an arc (predecessor, owner] an earlier lookup of this node "
        "confirmed, checked again with the owner (and its predecessor) instead of routed: no "
        "hops, no path. `routed=true` asks for the route.",
    )


class RingWalk(_Schema):
    """The ring as seen by walking successors from one node: ``GET /api/v1/ring``.

    ``stopped`` says why the walk ended: ``closed`` (back at the start: ``nodes`` is the whole
    ring), ``limit`` (``limit`` nodes collected), ``wrapped`` (a successor pointed at or behind a
    node already walked: the chain passed the start without reaching it, the ring is not one
    consistent cycle yet), ``dead_end`` (no successor of the last node answered).
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "nodes": [_EXAMPLE_PEER, _EXAMPLE_PEER_2],
                    "closed": True,
                    "stopped": "closed",
                    "unreachable": [],
                }
            ]
        }
    )

    nodes: list[Peer] = Field(description="Nodes in ring order, starting with the one asked.")
    closed: bool = Field(description="Whether the walk came back to its start.")
    stopped: RingStop
    unreachable: list[Peer] = Field(description="Successors that did not answer and were skipped.")


class Health(_Schema):
    """Liveness: ``GET /healthz``. ``status`` is ``leaving`` once a graceful leave began."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok", "id": _EXAMPLE_ID}]})

    status: Literal["ok", "leaving"]
    id: str = Field(pattern=HEX_ID_PATTERN)


class Readiness(_Schema):
    """Readiness: ``GET /readyz``. ``ready`` only once the node is in the ring, until it leaves."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "ready", "id": _EXAMPLE_ID}]}
    )

    status: Literal["ready", "joining", "leaving"]
    id: str = Field(pattern=HEX_ID_PATTERN)


class LeaveAccepted(_Schema):
    """``POST /api/v1/leave`` accepted: the node hands over and exits in the background."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "leaving", "id": _EXAMPLE_ID}]}
    )

    status: Literal["leaving"] = "leaving"
    id: str = Field(pattern=HEX_ID_PATTERN)


class ErrorBody(_Schema):
    """Every error response: ``detail`` is a human-readable message; ``error`` names the
    chordshare exception class (``InvalidInput``, ``NotFound``, ``LookupFailed``, ...) when the
    error came from that tree, so clients can raise the same type."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"detail": "not a hex ring id: 'xyz'", "error": "InvalidInput"}]
        }
    )

    detail: str
    error: str | None = None
