"""``GET /api/v1/events`` (the node's event stream), ``/api/v1/transfers`` and ``/api/v1/status``.

The stream is Server-Sent Events (sse-starlette): one message per event of the node's
:class:`chordshare.node.events.EventHub`, a keep-alive comment every 15 s. A client that fell
too far behind is dropped by the hub (the stream ends); it reconnects with ``Last-Event-ID``
(or ``?since=``) and gets what the node still keeps of what it missed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent
from sse_starlette.sse import SendTimeoutError
from starlette.types import Receive, Scope, Send

from chordshare.api.deps import ApiContext, ContextDep, NodeDep
from chordshare.api.errors import error_responses
from chordshare.api.schemas.events import (
    EVENT_KINDS,
    EventMessage,
    KeyRange,
    NodeStatus,
    RpcFigures,
    TransferList,
    TransferView,
)
from chordshare.errors import InvalidInput
from chordshare.node.events import RECENT, Subscription
from chordshare.node.ring.chord import ChordNode
from chordshare.node.status import Holdings

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["operations"])

KEEP_ALIVE = 15.0
"""Seconds between keep-alive comments: under the idle timeout of common proxies (30-60 s)."""

SEND_TIMEOUT = 30.0
"""Seconds one message may take to leave before the client is taken to have stopped reading
and its stream is ended: the hub has dropped such a client long before (its queue is full), and
this frees the request's task and socket too."""

HANDLED = "chordshare_grpc_server_handled_total"
"""The gRPC server's call counter (``chordshare.transport.grpc.metrics``), read by name."""

STREAM_DESCRIPTION = f"""\
Server-Sent Events: one message per event of this node, `event: <kind>`, `id: <seq>`, `data:` a
JSON object `{{"seq", "time", "kind", "data"}}` (schema `EventMessage`); a keep-alive comment
every {KEEP_ALIVE:.0f} s. `?since=SEQ` or the `Last-Event-ID` header first replays what the node
still keeps after that sequence number (its last {RECENT} events), then follows live. Without
either, only live events. A client that falls 1,000 events behind is dropped (the stream
ends): reconnect with `Last-Event-ID`.

Kinds: {", ".join(f"`{k}`" for k in EVENT_KINDS)}. Their `data`: `ring.successor`,
`ring.predecessor`: `{{"peer": Peer | null}}`; `ring.finger`: `{{"index", "peer"}}` (one per
run of fingers that changed to the same peer); `peer.seen`: `{{"peer"}}` (a node this node did
not know); `peer.dead`: `{{"peer", "reason"}}` (failed, left, replaced); `node.leaving`: `{{}}`;
`record.added`/`record.removed`: `{{"name", "content_hash", "provider"}}`;
`transfer.started`/`transfer.progress` (at most ~4/s per transfer)/`transfer.finished`:
`{{"transfer": Transfer}}`; `repair`: `{{"content_hash", "name", "action", "peer"}}`
(actions: holder_gone, copied, copy_failed)."""


@router.get(
    "/events",
    summary="This node's event stream (Server-Sent Events)",
    description=STREAM_DESCRIPTION,
    response_class=EventSourceResponse,
    responses={
        200: {
            "content": {
                "text/event-stream": {
                    "schema": EventMessage.model_json_schema(),
                }
            },
            "description": "The stream; each message's `data` is an EventMessage.",
        },
        **error_responses(400, 422),
    },
)
async def get_events(
    node: NodeDep,
    since: Annotated[
        int | None, Query(ge=0, description="Replay the kept events after this sequence number.")
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(description="As `since` (what an EventSource sends when it reconnects)."),
    ] = None,
) -> EventSourceResponse:
    if since is None and last_event_id is not None:
        since = _sequence(last_event_id)
    subscription = node.events.subscribe(since)
    return _EventStream(_messages(subscription), ping=KEEP_ALIVE, send_timeout=SEND_TIMEOUT)


class _EventStream(EventSourceResponse):
    """An event stream that ends quietly when its client stops reading."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except SendTimeoutError:
            log.info("ended an event stream whose client stopped reading")


def _sequence(header: str) -> int:
    text = header.strip()
    if not text.isdigit():  # digits only: no sign, no spaces, no exponent
        raise InvalidInput(f"Last-Event-ID must be a sequence number, not {header[:40]!r}")
    return int(text)


async def _messages(subscription: Subscription) -> AsyncIterator[ServerSentEvent]:
    try:
        async for event in subscription:
            yield ServerSentEvent(
                data=json.dumps(event.as_json(), separators=(",", ":")),
                event=event.kind,
                id=str(event.seq),
            )
    finally:
        subscription.close()


@router.get(
    "/transfers",
    summary="Transfers running and recently finished",
    description="Every download this node makes for a REST reader, upload it receives, stream "
    "it serves to a peer and repair copy it makes: those running (oldest first), then the last "
    "50 finished (newest first). `rate_bps` is bytes/s over the last 3 s while running, the "
    "average once finished. Live updates: the `transfer.*` events of `/api/v1/events`.",
    response_model=TransferList,
)
async def get_transfers(context: ContextDep) -> TransferList:
    tracker = context.transfers
    if tracker is None:
        return TransferList(transfers=[])
    return TransferList(
        transfers=[TransferView.model_validate(t.as_json()) for t in tracker.snapshot()]
    )


@router.get(
    "/status",
    summary="This node's health at a glance",
    description="Ring size estimate, the key range this node owns, the records and bytes it "
    "holds (pinned replicas and cached copies apart; `bytes_held` includes the shared "
    "directory), transfers running, its gRPC server's calls and errors (the counters of "
    "`/metrics`, rates since the previous status request) and warnings: what needs a look.",
    response_model=NodeStatus,
)
async def get_status(request: Request, context: ContextDep) -> NodeStatus:
    node = context.node
    holdings = await context.holdings() if context.holdings is not None else Holdings()
    tracker = context.transfers
    running = len(tracker.running) if tracker is not None else 0
    rpc = _rpc(request, context)
    pred = node.table.predecessor
    return NodeStatus(
        id=node.space.hex(node.me.id),
        uptime_s=round(time.monotonic() - context.started, 3),
        estimated_nodes=node.estimated_ring_size(),
        range=KeyRange(
            start=node.space.hex(node.me.id if pred is None else pred.id),
            end=node.space.hex(node.me.id),
        ),
        records=holdings.records,
        bytes_held=holdings.bytes_held,
        pinned_bytes=holdings.pinned_bytes,
        cached_bytes=holdings.cached_bytes,
        transfers_running=running,
        rpc=rpc,
        warnings=_warnings(node, context, rpc),
    )


def _warnings(node: ChordNode, context: ApiContext, rpc: RpcFigures) -> list[str]:
    out: list[str] = []
    if context.stopping is not None and context.stopping():
        out.append("leaving: a stop was requested")
    elif context.ready is not None and not context.ready():
        out.append("not ready: the node has not joined its ring yet")
    if node.table.alone:
        out.append("alone: no other node in this node's ring")
    elif node.table.predecessor is None:
        out.append("no predecessor known: this node's key range is undecided")
    tracker = context.transfers
    if tracker is not None:
        failed = sum(1 for t in tracker.snapshot() if t.state == "failed")
        if failed:
            out.append(f"{failed} of the recent transfers failed (see chordshare transfers)")
    if rpc.calls_per_s > 0 and rpc.errors_per_s > 0.1 * rpc.calls_per_s:
        out.append(
            f"gRPC errors: {rpc.errors_per_s:.1f}/s of {rpc.calls_per_s:.1f} calls/s answered "
            "with an error"
        )
    drops = node.events.drops
    if drops:
        out.append(f"{drops} event stream listeners were dropped for falling behind")
    return out


class _RpcRate:
    """The previous status request's counter reading, for the rates of the next one."""

    def __init__(self, now: float) -> None:
        self.at = now
        self.calls = 0
        self.errors = 0


def _rpc(request: Request, context: ApiContext) -> RpcFigures:
    calls = errors = 0
    for family in context.registry.collect():
        for sample in family.samples:
            if sample.name == HANDLED:
                calls += int(sample.value)
                if sample.labels.get("grpc_code") != "OK":
                    errors += int(sample.value)
    state = request.app.state
    previous: _RpcRate | None = getattr(state, "chordshare_rpc_rate", None)
    now = time.monotonic()
    if previous is None:
        previous = _RpcRate(context.started)
    elapsed = now - previous.at
    figures = RpcFigures(
        calls=calls,
        errors=errors,
        calls_per_s=round(max(calls - previous.calls, 0) / elapsed, 3) if elapsed > 0 else 0.0,
        errors_per_s=round(max(errors - previous.errors, 0) / elapsed, 3) if elapsed > 0 else 0.0,
    )
    current = _RpcRate(now)
    current.calls, current.errors = calls, errors
    state.chordshare_rpc_rate = current
    return figures
