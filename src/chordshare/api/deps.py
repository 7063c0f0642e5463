"""What the routes need from the app, injected with FastAPI's ``Depends``.

``create_app`` stores one :class:`ApiContext` on ``app.state``; routes declare ``NodeDep`` or
``ContextDep`` parameters instead of reaching into globals, so any number of apps (one per node
in a test) live side by side.

The file routes reach the node's file sharing through :class:`FilesFacade`, a protocol declared
here because the API may not import the composition root that implements it
(``chordshare.service.files.NodeFiles``); tests may pass any object that fits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Protocol

from fastapi import Depends, FastAPI, HTTPException, Request, status
from prometheus_client import CollectorRegistry

from chordshare.model.held import HeldFile
from chordshare.model.manifest import FileRecord
from chordshare.node.records.search import SearchResult
from chordshare.node.ring.chord import ChordNode
from chordshare.node.status import HoldingsSource
from chordshare.node.transfer.fetch import Fetching
from chordshare.node.transfer.remove import RemovalReport
from chordshare.node.transfer.tracker import TransferTracker
from chordshare.node.transfer.upload import UploadResult

LeaveHandler = Callable[[], Awaitable[None]]
"""Does the graceful leave and stops the process; supplied by the composition root."""


class FilesFacade(Protocol):
    """What the file routes need from a node's file sharing."""

    @property
    def max_file_bytes(self) -> int:
        """Largest file this node accepts in an upload or a download."""
        ...

    def held_files(self) -> list[HeldFile]:
        """Every file this node shares or stores, shared ones first, each sorted by name."""
        ...

    def held_file(self, name: str, content_hash: bytes | None = None) -> HeldFile | None:
        """This node's copy of ``name`` (with that content, if given): shared before stored."""
        ...

    async def find(self, name: str) -> list[FileRecord]:
        """The DHT's variants of ``name`` with live providers, most providers first."""
        ...

    async def network_names(self, after: str, limit: int) -> list[str]:
        """Names known to the network, sorted, after ``after``, at most ``limit``."""
        ...

    async def search(self, query: str) -> SearchResult:
        """The names with every word of ``query``, sorted, each with its variants."""
        ...

    async def upload(self, name: str, data: AsyncIterable[bytes]) -> UploadResult:
        """Store ``data`` on the holders of ``name`` and publish its record."""
        ...

    async def remove(
        self, name: str, content_hash: bytes | None, secret: bytes | None
    ) -> RemovalReport:
        """Take the upload of ``name`` out of the network again (see
        :class:`chordshare.service.removal.NodeRemoval`)."""
        ...

    def fetching(self, record: FileRecord) -> HeldFile | Fetching:
        """This node's copy of ``record``'s file, or else its download from the providers,
        running now (started if none is; after it this node provides the file too): readers
        read its verified pieces as they arrive."""
        ...


@dataclass
class ApiContext:
    node: ChordNode
    registry: CollectorRegistry
    on_leave: LeaveHandler | None = None
    leave_task: asyncio.Task[None] | None = None
    """The running (or finished) leave started by ``POST /api/v1/leave``; at most one."""
    files: FilesFacade | None = None
    """The node's file sharing; ``None`` serves the ring API only."""
    ready: Callable[[], bool] | None = None
    """Whether the node has joined (or started) the ring and serves it; ``None``: always."""
    stopping: Callable[[], bool] | None = None
    """Whether a stop was requested (the leave may not have begun yet); ``None``: never."""
    transfers: TransferTracker | None = None
    """The node's transfers (``GET /api/v1/transfers``); ``None``: none are tracked."""
    holdings: HoldingsSource | None = None
    """What the node holds, for ``GET /api/v1/status``; ``None``: nothing (ring only)."""
    started: float = field(default_factory=time.monotonic)


async def get_context(request: Request) -> ApiContext:
    return app_context(request.app)


def app_context(app: FastAPI) -> ApiContext:
    context = app.state.chordshare
    if not isinstance(context, ApiContext):  # pragma: no cover - create_app always sets it
        raise TypeError("app.state.chordshare is not an ApiContext; build the app with create_app")
    return context


async def get_node(context: Annotated[ApiContext, Depends(get_context)]) -> ChordNode:
    return context.node


ContextDep = Annotated[ApiContext, Depends(get_context)]
NodeDep = Annotated[ChordNode, Depends(get_node)]


async def get_files(context: Annotated[ApiContext, Depends(get_context)]) -> FilesFacade:
    if context.files is None:
        raise HTTPException(
            status_code=status.HTTP_501_NOT_IMPLEMENTED,
            detail="this node was started without file sharing",
        )
    return context.files


FilesDep = Annotated[FilesFacade, Depends(get_files)]
