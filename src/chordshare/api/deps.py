"""What the routes need from the app, injected with FastAPI's ``Depends``.

``create_app`` stores one :class:`ApiContext` on ``app.state``; routes declare ``NodeDep`` or
``ContextDep`` parameters instead of reaching into globals, so any number of apps (one per node
in a test) live side by side.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import CollectorRegistry

from chordshare.node.chord import ChordNode

LeaveHandler = Callable[[], Awaitable[None]]
"""Does the graceful leave and stops the process; supplied by the composition root."""


@dataclass
class ApiContext:
    node: ChordNode
    registry: CollectorRegistry
    on_leave: LeaveHandler | None = None
    leave_task: asyncio.Task[None] | None = None
    """The running (or finished) leave started by ``POST /api/v1/leave``; at most one."""


def get_context(request: Request) -> ApiContext:
    context = request.app.state.chordshare
    if not isinstance(context, ApiContext):  # pragma: no cover - create_app always sets it
        raise TypeError("app.state.chordshare is not an ApiContext; build the app with create_app")
    return context


def get_node(context: Annotated[ApiContext, Depends(get_context)]) -> ChordNode:
    return context.node


ContextDep = Annotated[ApiContext, Depends(get_context)]
NodeDep = Annotated[ChordNode, Depends(get_node)]
