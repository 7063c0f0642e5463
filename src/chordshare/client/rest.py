"""Typed REST clients of a node: :class:`NodeApi` (blocking) and :class:`AsyncNodeApi`.

Both speak the contract of :mod:`chordshare.api.schemas.ring` and return its models. Every failure
comes out as the project's exception tree (DESIGN.md §3.6), translated here once:

    connection refused, reset, DNS failure   PeerUnavailable
    timeout (connect, read, write, pool)     PeerTimeout
    other transport or protocol fault        PeerProtocolError
    malformed base URL                       InvalidInput
    error response                           the class the server named in ``error`` (InvalidInput,
                                             NotFound, LookupFailed, PeerTimeout, ...) with its
                                             ``detail``; else by status: 404 NotFound, other 4xx
                                             InvalidInput, 503 PeerUnavailable, 504 PeerTimeout,
                                             other 5xx PeerProtocolError
    2xx body that breaks the schema          PeerProtocolError

File methods (``files``, ``network_file``, ``network_files``, ``put``, ``content``) live in
:mod:`chordshare.client.files`; the translation of failures in
:mod:`chordshare.client.errors`.

``token``: the node's API token, sent as ``Authorization: Bearer <token>`` on every request;
uploads and leave need it, and reads too on a node with ``closed_reads``. A node that refuses it
raises :class:`~chordshare.client.errors.AccessDenied`.

Connection attempts are retried by httpx's own transport (``retries``: only failures to
connect, so no request is ever sent twice). Tests inject a transport (``httpx.ASGITransport`` for
the async client) and then configure retries on it themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Generic, Self, TypeVar

import httpx

from chordshare.client.errors import (
    REMOTE_ERRORS,
    AccessDenied,
    decode,
    error_from_response,
    translate_transport_errors,
)
from chordshare.client.files import AsyncFilesMethods, FilesMethods
from chordshare.client.lazy import lazy_module
from chordshare.client.transports import async_transport, sync_transport

if TYPE_CHECKING:
    from pydantic import BaseModel

    from chordshare.api.schemas import ops, ring
    from chordshare.api.schemas.ops import RescanAnswer
    from chordshare.api.schemas.ring import (
        Health,
        LeaveAccepted,
        LookupAnswer,
        NodeView,
        PeerList,
        RingWalk,
    )
else:  # loaded once an answer is in (see chordshare.client.lazy)
    ops = lazy_module("chordshare.api.schemas.ops")
    ring = lazy_module("chordshare.api.schemas.ring")

__all__ = [
    "REMOTE_ERRORS",
    "AccessDenied",
    "AsyncNodeApi",
    "NodeApi",
    "auth_headers",
    "decode",
    "error_from_response",
    "normalize_base_url",
    "translate_transport_errors",
]

DEFAULT_TIMEOUT = 10.0
"""Seconds for each phase of a request (connect, write, read, pool). A ring walk of the default
1,024 nodes is the slowest call and takes well under this on a LAN; pass more for WAN walks."""

DEFAULT_RETRIES = 2
"""Extra connection attempts: enough to ride over a node that is still binding its port during a
restart, few enough that a dead seed is reported within seconds."""

M = TypeVar("M", bound="BaseModel")


@dataclass(frozen=True, slots=True)
class _Call(Generic[M]):
    """One REST call: what to send and what model the answer must fit (named by a function,
    called once the answer is in)."""

    method: str
    path: str
    model: Callable[[], type[M]]
    params: dict[str, str | int] = field(default_factory=dict)


def _node() -> _Call[NodeView]:
    return _Call("GET", "/api/v1/node", lambda: ring.NodeView)


def _peers() -> _Call[PeerList]:
    return _Call("GET", "/api/v1/peers", lambda: ring.PeerList)


def _lookup(key: str, routed: bool = False) -> _Call[LookupAnswer]:
    # The query form carries every key, including "." and ".." that a URL path cannot.
    params: dict[str, str | int] = {"key": key, **({"routed": "true"} if routed else {})}
    return _Call("GET", "/api/v1/lookup", lambda: ring.LookupAnswer, params)


def _lookup_id(key_id: int | str) -> _Call[LookupAnswer]:
    ident = format(key_id, "x") if isinstance(key_id, int) else key_id
    return _Call("GET", "/api/v1/lookup", lambda: ring.LookupAnswer, {"id": ident})


def _ring(limit: int | None) -> _Call[RingWalk]:
    return _Call(
        "GET", "/api/v1/ring", lambda: ring.RingWalk, {} if limit is None else {"limit": limit}
    )


def _leave() -> _Call[LeaveAccepted]:
    return _Call("POST", "/api/v1/leave", lambda: ring.LeaveAccepted)


def _rescan() -> _Call[RescanAnswer]:
    return _Call("POST", "/api/v1/rescan", lambda: ops.RescanAnswer)


def _health() -> _Call[Health]:
    return _Call("GET", "/healthz", lambda: ring.Health)


def auth_headers(token: str | None) -> dict[str, str]:
    """The bearer header for ``token`` (none without one)."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def normalize_base_url(base_url: str) -> str:
    """``host:port`` is taken as ``http://host:port``; a trailing slash is dropped."""
    url = base_url.strip()
    if "://" not in url:
        url = f"http://{url}"
    return url.rstrip("/")


class NodeApi(FilesMethods):
    """Blocking client of one node's REST API (for the CLI and scripts)."""

    def __init__(
        self,
        base_url: str,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        retries: int = DEFAULT_RETRIES,
        transport: httpx.BaseTransport | None = None,
        token: str | None = None,
    ) -> None:
        self.base_url = normalize_base_url(base_url)
        with translate_transport_errors(self.base_url):
            self._http = httpx.Client(
                base_url=self.base_url,
                timeout=timeout,
                headers=auth_headers(token),
                transport=transport
                if transport is not None
                else sync_transport(self.base_url, retries),
            )

    def _send(self, call: _Call[M]) -> M:
        with translate_transport_errors(f"{call.method} {self.base_url}{call.path}"):
            response = self._http.request(call.method, call.path, params=call.params)
        return decode(response, call.model())

    def node(self) -> NodeView:
        """``GET /api/v1/node``: identity and tables (the discovery document)."""
        return self._send(_node())

    def peers(self) -> PeerList:
        return self._send(_peers())

    def lookup(self, key: str, *, routed: bool = False) -> LookupAnswer:
        """``routed``: hop by hop even when the node holds the key's arc from an earlier
        lookup (the answer says ``cached`` otherwise)."""
        return self._send(_lookup(key, routed))

    def lookup_id(self, key_id: int | str) -> LookupAnswer:
        """Look up a raw ring id (an int, or hex digits)."""
        return self._send(_lookup_id(key_id))

    def ring(self, limit: int | None = None) -> RingWalk:
        return self._send(_ring(limit))

    def leave(self) -> LeaveAccepted:
        return self._send(_leave())

    def rescan(self) -> RescanAnswer:
        """``POST /api/v1/rescan``: publish what changed in the node's shared_dir now."""
        return self._send(_rescan())

    def health(self) -> Health:
        return self._send(_health())

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncNodeApi(AsyncFilesMethods):
    """The same client for asyncio code (the service's seed discovery and peer exchange)."""

    def __init__(
        self,
        base_url: str,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        retries: int = DEFAULT_RETRIES,
        transport: httpx.AsyncBaseTransport | None = None,
        token: str | None = None,
    ) -> None:
        self.base_url = normalize_base_url(base_url)
        with translate_transport_errors(self.base_url):
            self._http = httpx.AsyncClient(
                base_url=self.base_url,
                timeout=timeout,
                headers=auth_headers(token),
                transport=(
                    transport if transport is not None else async_transport(self.base_url, retries)
                ),
            )

    async def _send(self, call: _Call[M]) -> M:
        with translate_transport_errors(f"{call.method} {self.base_url}{call.path}"):
            response = await self._http.request(call.method, call.path, params=call.params)
        return decode(response, call.model())

    async def node(self) -> NodeView:
        """``GET /api/v1/node``: identity and tables (the discovery document)."""
        return await self._send(_node())

    async def peers(self) -> PeerList:
        return await self._send(_peers())

    async def lookup(self, key: str, *, routed: bool = False) -> LookupAnswer:
        return await self._send(_lookup(key, routed))

    async def lookup_id(self, key_id: int | str) -> LookupAnswer:
        """Look up a raw ring id (an int, or hex digits)."""
        return await self._send(_lookup_id(key_id))

    async def ring(self, limit: int | None = None) -> RingWalk:
        return await self._send(_ring(limit))

    async def leave(self) -> LeaveAccepted:
        return await self._send(_leave())

    async def rescan(self) -> RescanAnswer:
        """``POST /api/v1/rescan``: publish what changed in the node's shared_dir now."""
        return await self._send(_rescan())

    async def health(self) -> Health:
        return await self._send(_health())

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
