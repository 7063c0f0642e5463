"""Which remote host a call comes from, for the bounds one host must not multiply.

The transfer service's own stream bound counts per connection (``context.peer()`` is
``ipv4:h:port``): an honest node uses one connection per node it talks to, but anyone can open
fifty. The host
bound counts every connection of one remote host together: an IPv4 address, an IPv6 /64 (one
host's usual share of a network, as BEP 42 restricts ids by it), one key for all local Unix
socket callers, and, with mutual TLS, the node address its certificate names (a certified
node is one caller however many connections and source addresses it uses).
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from chordshare.errors import LimitExceeded
from chordshare.transport.grpc.interceptors import Around
from chordshare.transport.grpc.tls import caller_identity

DEFAULT_MAX_STREAMS_PER_HOST = 16
"""Concurrent Download/Upload streams from one remote host. A downloader opens at most 2
streams to one provider, so 8 nodes on one host (a test ring on loopback, several nodes per
machine) can all read from this node at once; a refused stream is retried elsewhere or later
by the downloader (it counts as busy, not as a fault). Fifty connections of four streams each
from one host get 16 streams, not 200 (each admitted stream holds at most a chunk and gRPC's
flow-control window)."""

DEFAULT_MAX_CALLS_PER_HOST = 256
"""Concurrent calls of any kind from one remote host. Ring maintenance keeps a few calls in
flight per peer node (a stabilize, a ping, a lookup step), so even 32 nodes on one host stay far
below it; a host that opens more is refused with RESOURCE_EXHAUSTED instead of queueing
handlers (and their requests' memory) on this node."""

IPV6_HOST_PREFIX = 64


def remote_host(peer: str) -> str:
    """The host part of a gRPC peer string: ``ipv4:10.0.0.1:5000`` -> ``ipv4:10.0.0.1``,
    ``ipv6:[2001:db8::1]:5000`` -> ``ipv6:2001:db8::/64``, ``unix:...`` -> ``unix``; any
    other form is its own host."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return f"ipv4:{rest.rpartition(':')[0]}"
    if kind == "ipv6":
        host = rest.rpartition(":")[0].strip("[]").partition("%")[0]
        try:
            net = ipaddress.IPv6Network(f"{host}/{IPV6_HOST_PREFIX}", strict=False)
        except ValueError:
            return peer
        return f"ipv6:{net}"
    if kind.startswith("unix"):
        return "unix"
    return peer


def host_key(context: Any) -> str:
    """The key of the caller behind servicer ``context`` for the per-host bound."""
    identity = caller_identity(context)
    if identity is not None:
        return f"cert:{identity}"
    return remote_host(str(context.peer()))


def calls_per_host(limit: int = DEFAULT_MAX_CALLS_PER_HOST) -> Around:
    """An interceptor wrapper (:data:`chordshare.transport.grpc.interceptors.Around`) that
    refuses a call while ``limit`` calls of the same host (:func:`host_key`) are running."""
    running: Counter[str] = Counter()

    @asynccontextmanager
    async def bounded(method: str, context: Any) -> AsyncIterator[None]:
        key = host_key(context)
        if running[key] >= limit:
            raise LimitExceeded(f"more than {limit} concurrent calls from {key}")
        running[key] += 1
        try:
            yield
        finally:
            running[key] -= 1
            if not running[key]:
                del running[key]

    return bounded
