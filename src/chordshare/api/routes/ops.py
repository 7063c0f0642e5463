"""Operations routes: liveness, readiness, graceful leave and the rescan of shared_dir."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

from fastapi import APIRouter, HTTPException, Response, status

from chordshare.api.auth import WRITE_ACCESS, auth_responses
from chordshare.api.deps import ApiContext, ContextDep, NodeDep
from chordshare.api.errors import error_responses
from chordshare.api.schemas.ops import RescanAnswer
from chordshare.api.schemas.ring import Health, LeaveAccepted, Readiness

log = logging.getLogger(__name__)

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    summary="Liveness",
    description="200 while the process serves requests; `status` turns `leaving` once a "
    "graceful leave has begun.",
    response_model=Health,
)
async def healthz(node: NodeDep) -> Health:
    return Health(status="leaving" if node.left else "ok", id=node.space.hex(node.me.id))


@router.get(
    "/readyz",
    summary="Readiness",
    description="200 once the node has joined the ring (or started its own, without seeds) and "
    "serves it; 503 before that (`joining`) and from the moment a stop is requested (`leaving`: "
    "SIGTERM or `POST /api/v1/leave`, before the leave itself has begun). "
    "Send traffic, or the next node to join, only to a ready node.",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not in the ring (yet, or any more)."}},
)
async def readyz(context: ContextDep, response: Response) -> Readiness:
    node = context.node
    if node.left or (context.stopping is not None and context.stopping()):
        state: Literal["ready", "joining", "leaving"] = "leaving"
    elif context.ready is not None and not context.ready():
        state = "joining"
    else:
        state = "ready"
    if state != "ready":
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Readiness(status=state, id=node.space.hex(node.me.id))


@router.post(
    "/api/v1/leave",
    summary="Leave the ring gracefully and exit",
    description="Starts the node's graceful leave (hand records and neighbours over, then stop) "
    "in the background and answers 202 at once, so the reply is not cut off by the shutdown. "
    "Repeating the call while the leave runs starts nothing new. 501 when this node was "
    "started without a leave handler. Needs the node's API token.",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=LeaveAccepted,
    responses={**error_responses(501), **auth_responses(same_site=True)},
    dependencies=WRITE_ACCESS,
)
async def leave(context: ContextDep) -> LeaveAccepted:
    if context.on_leave is None:
        raise HTTPException(
            status_code=status.HTTP_501_NOT_IMPLEMENTED,
            detail="this node was started without a leave handler; stop its service instead "
            "(e.g. SIGTERM), which leaves gracefully",
        )
    if context.leave_task is None:
        context.leave_task = start_leave(context)
    return LeaveAccepted(id=context.node.space.hex(context.node.me.id))


class RescanReport(Protocol):
    """What a rescan did (``chordshare.service.rescan.RescanReport`` fits)."""

    @property
    def published(self) -> Sequence[str]: ...

    @property
    def withdrawn(self) -> Sequence[str]: ...

    @property
    def sharing(self) -> int:
        """Files in the shared directory after the rescan."""
        ...


@runtime_checkable
class Rescans(Protocol):
    """File sharing that can rescan its shared directory on demand (``NodeFiles`` does)."""

    async def rescan(self) -> RescanReport: ...


@router.post(
    "/api/v1/rescan",
    summary="Rescan shared_dir now",
    description="Publishes the files new or changed in the node's shared directory and "
    "withdraws the ones removed, at once (the node also does this when it sees a change, and "
    "periodically); answers with the names published and withdrawn. 501 on a node without "
    "file sharing. Needs the node's API token.",
    response_model=RescanAnswer,
    responses={**error_responses(501), **auth_responses(same_site=True)},
    dependencies=WRITE_ACCESS,
)
async def rescan(context: ContextDep) -> RescanAnswer:
    files = context.files
    if not isinstance(files, Rescans):
        raise HTTPException(
            status_code=status.HTTP_501_NOT_IMPLEMENTED,
            detail="this node was started without file sharing: it has no shared_dir to rescan",
        )
    report = await files.rescan()
    return RescanAnswer(
        published=list(report.published),
        withdrawn=list(report.withdrawn),
        sharing=report.sharing,
    )


def start_leave(context: ApiContext) -> asyncio.Task[None]:
    """Run ``on_leave`` as a task owned by the context (a bare task could be garbage-collected
    mid-leave); its failure is logged, since no request is left to report it to."""
    assert context.on_leave is not None
    handler = context.on_leave

    async def run() -> None:
        await handler()

    task = asyncio.get_running_loop().create_task(run(), name="chordshare-api-leave")
    task.add_done_callback(_log_failure)
    return task


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("graceful leave failed", exc_info=exc)
