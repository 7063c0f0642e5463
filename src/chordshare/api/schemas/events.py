"""Schemas of the node's event stream, its transfers and its status summary.

``GET /api/v1/events`` is a Server-Sent Events stream: each message has ``event: <kind>``,
``id: <seq>`` and ``data:`` one JSON :class:`EventMessage`. The kinds and their ``data``:

* ``ring.successor`` / ``ring.predecessor`` ``{"peer": Peer | null}``;
* ``ring.finger`` ``{"index": int, "peer": Peer}`` (one per run of fingers changed together);
* ``peer.seen`` ``{"peer": Peer}``; ``peer.dead`` ``{"peer": Peer, "reason": str}``;
* ``node.leaving`` ``{}``;
* ``record.added`` / ``record.removed`` ``{"name", "content_hash", "provider": Peer | null}``;
* ``transfer.started`` / ``transfer.progress`` (at most ~4 a second per transfer) /
  ``transfer.finished`` ``{"transfer": Transfer}``;
* ``repair`` ``{"content_hash", "name", "action", "peer": Peer | null}``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EVENT_KINDS = (
    "ring.successor",
    "ring.predecessor",
    "ring.finger",
    "peer.seen",
    "peer.dead",
    "node.leaving",
    "record.added",
    "record.removed",
    "transfer.started",
    "transfer.progress",
    "transfer.finished",
    "repair",
)

_TRANSFER_EXAMPLE: dict[str, Any] = {
    "id": "s12",
    "kind": "serve",
    "name": "song.ogg",
    "content_hash": "6f" * 32,
    "bytes_done": 4194304,
    "bytes_total": 16777216,
    "rate_bps": 52428800.0,
    "started": 1767225600.0,
    "finished": None,
    "peer": "127.0.0.1",
    "state": "running",
    "error": None,
}


class _Schema(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class EventMessage(_Schema):
    """The JSON ``data`` of one Server-Sent Event."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "seq": 42,
                    "time": 1767225600.5,
                    "kind": "peer.seen",
                    "data": {
                        "peer": {
                            "id": "5f1d7c3a",
                            "grpc_address": "10.0.0.2:7000",
                            "http_url": "http://10.0.0.2:8000",
                        }
                    },
                }
            ]
        }
    )

    seq: int = Field(ge=1, description="Sequence number on this node, from 1 (the SSE `id`).")
    time: float = Field(description="When it happened, unix seconds.")
    kind: str = Field(description=f"One of: {', '.join(EVENT_KINDS)}.")
    data: dict[str, Any] = Field(description="The kind's fields (see the route's description).")


class TransferView(_Schema):
    """One transfer of this node: a download for a client, an upload received, a stream served
    to a peer, or a repair copy."""

    model_config = ConfigDict(json_schema_extra={"examples": [_TRANSFER_EXAMPLE]})

    id: str = Field(description="Unique on this node while it runs.")
    kind: Literal["download", "upload", "serve", "repair"]
    name: str | None = Field(description="The file's name, when known.")
    content_hash: str | None = Field(description="The file's content hash, hex.")
    bytes_done: int = Field(ge=0)
    bytes_total: int | None = Field(description="Bytes this transfer moves in all, when known.")
    rate_bps: float = Field(
        ge=0,
        description="Bytes per second over the last few seconds while running; the average "
        "over the whole transfer once finished.",
    )
    started: float = Field(description="Unix seconds.")
    finished: float | None = Field(description="Unix seconds; null while running.")
    peer: str | None = Field(description="The other side: a host or a gRPC address, if one.")
    state: Literal["running", "done", "failed"]
    error: str | None = Field(description="Why it failed.")


class TransferList(_Schema):
    """``GET /api/v1/transfers``: those running (oldest first), then the last 50 finished
    (newest first)."""

    transfers: list[TransferView]


class KeyRange(_Schema):
    """The ring arc this node owns: ids in (start, end]; start = end is the whole ring."""

    start: str = Field(description="Exclusive start, hex: the predecessor's id.")
    end: str = Field(description="Inclusive end, hex: this node's id.")


class RpcFigures(_Schema):
    """This node's gRPC server calls (the counters behind ``/metrics``)."""

    calls: int = Field(ge=0, description="RPCs handled since the node started.")
    errors: int = Field(ge=0, description="Of those, answered with a status other than OK.")
    calls_per_s: float = Field(ge=0, description="Since the previous status request (or start).")
    errors_per_s: float = Field(ge=0)


class NodeStatus(_Schema):
    """``GET /api/v1/status``: one node's health at a glance."""

    id: str = Field(description="This node's ring id, hex.")
    uptime_s: float = Field(ge=0, description="Seconds since the REST API started.")
    estimated_nodes: int = Field(ge=1, description="Ring size estimated from successor density.")
    range: KeyRange
    records: int = Field(ge=0, description="DHT records held here (owned and replicas).")
    bytes_held: int = Field(ge=0, description="Bytes of every file this node serves.")
    pinned_bytes: int = Field(ge=0, description="Of those, pinned replicas of uploads.")
    cached_bytes: int = Field(ge=0, description="Of those, cached copies (evictable).")
    transfers_running: int = Field(ge=0)
    rpc: RpcFigures
    warnings: list[str] = Field(description="What needs a look; empty when all is well.")
