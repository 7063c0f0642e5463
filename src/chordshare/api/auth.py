"""Who may do what over REST: FastAPI dependencies for the node's access policy.

Reads a file-sharing user needs (node info, lookups, the ring, peers, search, downloads,
``/healthz``, ``/metrics``, the docs) are open unless the policy closes them; writes (uploads)
and operations (leave) need ``Authorization: Bearer <token>``. The token is compared in
constant time and only ever read from that header: a request carrying ``token`` or
``access_token`` in its query string, on a route that checks access, is a 400, so a token pasted
into a URL (and thus into logs and browser history) fails loudly instead of working.

State-changing requests are also refused when a browser could have been tricked into sending
them from another site: a form's content types (415) and a foreign ``Origin`` (403). CORS is
closed unless the policy allows origins, and then opens to exactly those.

Failed attempts (401/403) are counted per client address; an address over
:data:`FAILURE_LIMIT` in :data:`FAILURE_WINDOW` seconds gets 429 for the rest of the window.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.middleware.cors import CORSMiddleware

from chordshare.api.errors import error_response
from chordshare.api.schemas.ring import ErrorBody

FAILURE_LIMIT = 10
"""Failed token attempts an address may make per window: a user mistyping a token or a script
with a stale one gets several tries, a guesser gets ten per minute (a 256-bit token is out of
reach either way; the limit keeps the log and the CPU quiet)."""

FAILURE_WINDOW = 60.0
"""Seconds a window of failures lasts, from the first failure of an address."""

MAX_TRACKED_ADDRESSES = 4096
"""Addresses the limiter remembers at once: a client cycling source addresses cannot grow the
table without bound. When it is full, expired windows go first, then the oldest window (which
at worst gives that address its budget back early)."""

QUERY_TOKEN_NAMES = ("token", "access_token")
"""Query parameters refused outright: a token belongs in the Authorization header only."""

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")
"""Content types a cross-site HTML form can send without a CORS preflight."""

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class AuthPolicy:
    """What the composition root decides: the token, whether reads need it, the origins that
    may act on the node (its own URLs and ``allowed_origins``) and those that get CORS."""

    token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    """The bearer token; by default a random one nobody knows (every write is refused)."""
    closed_reads: bool = False
    own_origins: frozenset[str] = frozenset()
    """The node's own origins (``scheme://host:port``, no trailing slash)."""
    allowed_origins: tuple[str, ...] = ()
    """Other origins allowed to make state-changing requests; they also get CORS headers."""

    def origin_allowed(self, origin: str) -> bool:
        origin = origin.rstrip("/").lower()
        return origin in {o.rstrip("/").lower() for o in (*self.own_origins, *self.allowed_origins)}


class FailureLimiter:
    """Failed attempts per address in fixed windows; a bounded table."""

    def __init__(
        self,
        limit: int = FAILURE_LIMIT,
        window: float = FAILURE_WINDOW,
        capacity: int = MAX_TRACKED_ADDRESSES,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self.capacity, self.now = limit, window, capacity, now
        self._windows: OrderedDict[str, tuple[float, int]] = OrderedDict()
        """address -> (start of its window, failures in it), oldest window first."""

    def retry_after(self, address: str) -> int | None:
        """Seconds until ``address`` may try again, or ``None`` when it may now."""
        entry = self._windows.get(address)
        if entry is None:
            return None
        start, failures = entry
        left = start + self.window - self.now()
        if left <= 0:
            del self._windows[address]
            return None
        return max(1, int(left + 0.999)) if failures >= self.limit else None

    def failed(self, address: str) -> None:
        now = self.now()
        entry = self._windows.get(address)
        if entry is not None and entry[0] + self.window > now:
            self._windows[address] = (entry[0], entry[1] + 1)
            return
        self._windows.pop(address, None)
        if len(self._windows) >= self.capacity:
            self._evict(now)
        self._windows[address] = (now, 1)

    def __len__(self) -> int:
        return len(self._windows)

    def _evict(self, now: float) -> None:
        for address, (start, _) in list(self._windows.items()):
            if start + self.window <= now:
                del self._windows[address]
        while len(self._windows) >= self.capacity:
            self._windows.popitem(last=False)


@dataclass
class AuthState:
    policy: AuthPolicy
    limiter: FailureLimiter


class AccessRefused(Exception):
    """Raised by the dependencies; answered as an :class:`ErrorBody` with ``status``."""

    def __init__(
        self, status: int, detail: str, error: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.error, self.headers = status, detail, error, headers or {}


bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="The node's API token: its `api_token` setting, or the file `api_token` in "
    "its data_dir (created at first start, mode 0600).",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def install_auth(app: FastAPI, policy: AuthPolicy, limiter: FailureLimiter | None = None) -> None:
    """Put ``policy`` on ``app`` (read by the dependencies), answer refusals, open CORS to the
    allowed origins only (no CORS headers at all when there are none)."""
    app.state.chordshare_auth = AuthState(policy, limiter or FailureLimiter())
    app.add_exception_handler(AccessRefused, _refused)
    if policy.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(policy.allowed_origins),
            allow_methods=["GET", "HEAD", "PUT", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Range"],
        )


def auth_state(app: FastAPI) -> AuthState:
    state = getattr(app.state, "chordshare_auth", None)
    if not isinstance(state, AuthState):  # pragma: no cover - create_app always installs it
        raise TypeError("app.state.chordshare_auth is not set; build the app with create_app")
    return state


async def _refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AccessRefused)
    response = error_response(exc.status, exc.detail, exc.error)
    response.headers.update(exc.headers)
    return response


def _address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


async def require_token(request: Request, credentials: Credentials) -> None:
    """The bearer token must be present (401) and right (403); over the failure limit, 429."""
    state = auth_state(request.app)
    present = [n for n in QUERY_TOKEN_NAMES if n in request.query_params]
    if present:
        raise AccessRefused(
            400,
            f"a token in the query string ({present[0]}=) is never accepted; send it as the "
            "header 'Authorization: Bearer <token>'",
            "InvalidInput",
        )
    address = _address(request)
    wait = state.limiter.retry_after(address)
    if wait is not None:
        raise AccessRefused(
            429,
            f"too many failed attempts from {address}; retry in {wait} s",
            "TooManyAttempts",
            {"Retry-After": str(wait)},
        )
    if credentials is None:
        state.limiter.failed(address)
        raise AccessRefused(
            401,
            "this request needs the node's API token: send 'Authorization: Bearer <token>'",
            "Unauthorized",
            {"WWW-Authenticate": "Bearer"},
        )
    if not hmac.compare_digest(credentials.credentials.encode(), state.policy.token.encode()):
        state.limiter.failed(address)
        raise AccessRefused(403, "wrong API token", "Forbidden")


async def require_same_site(request: Request) -> None:
    """State-changing requests: no form content types (415), no foreign Origin (403)."""
    if request.method not in STATE_CHANGING:
        return
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind in FORM_TYPES:
        raise AccessRefused(
            415,
            f"Content-Type {kind} is refused on state-changing requests (a web form can send "
            "it from any site); send application/octet-stream or JSON",
            "UnsupportedMediaType",
        )
    origin = request.headers.get("origin")
    if origin is not None and not auth_state(request.app).policy.origin_allowed(origin):
        raise AccessRefused(
            403,
            f"origin {origin[:100]!r} may not act on this node (add it to allowed_origins)",
            "Forbidden",
        )


async def require_read(request: Request, credentials: Credentials) -> None:
    """A read: open, or the token when the policy closes reads."""
    if auth_state(request.app).policy.closed_reads:
        await require_token(request, credentials)


WRITE_ACCESS = [Depends(require_same_site), Depends(require_token)]
"""Dependencies of every write and operation route (the same-site checks run first)."""

READ_ACCESS = [Depends(require_read)]
"""Dependencies of the read routes when the policy closes reads."""


def auth_responses(*, same_site: bool) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for a protected route."""
    reasons = {
        400: "A token in the query string (never accepted).",
        401: "No token: send `Authorization: Bearer <token>`.",
        403: "Wrong token" + (", or a foreign `Origin`." if same_site else "."),
        415: "A form content type on a state-changing request.",
        429: "Too many failed attempts from this address; see `Retry-After`.",
    }
    statuses: Iterable[int] = (400, 401, 403, 415, 429) if same_site else (400, 401, 403, 429)
    return {s: {"model": ErrorBody, "description": reasons[s]} for s in statuses}
