"""The node's gRPC server: the ``Ring`` service, plus whatever other services are registered,
with health checking, reflection, error translation and metrics on every RPC.

Lifecycle: construct, :meth:`GrpcServer.add_servicer` for extra services, ``await start()``
(returns the bound port; port 0 picks a free one), ``await stop(grace)``. Health reports
``SERVING`` for the server (``""``) and every registered service once started, ``NOT_SERVING``
from the moment ``stop`` begins. Reflection lists every service so that ``grpcurl`` can
``list``/``describe``/call without the ``.proto`` files.

Interceptors run in this order: metrics (outermost, so it sees the final status), then error
translation (:mod:`chordshare.transport.grpc.interceptors`), then the rejection of requests that
do not parse (:mod:`chordshare.transport.grpc.malformed`: INVALID_ARGUMENT, for every service,
health and reflection included), then the servicer.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Callable, Iterable
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from chordshare.errors import ConfigError, InvalidInput
from chordshare.ring import IdSpace
from chordshare.transport.grpc.generated import ring_pb2_grpc
from chordshare.transport.grpc.hosts import calls_per_host
from chordshare.transport.grpc.interceptors import WrappingInterceptor, error_interceptor
from chordshare.transport.grpc.malformed import MalformedRequestInterceptor, WarningLimiter
from chordshare.transport.grpc.metrics import ServerMetrics
from chordshare.transport.grpc.options import DEFAULT_MAX_MESSAGE_BYTES, server_options
from chordshare.transport.grpc.ring.codec import WireCodec
from chordshare.transport.grpc.ring.servicer import RING_SERVICE_NAME, RingServicer
from chordshare.transport.grpc.tls import CallerClaimInterceptor, PeerTls
from chordshare.transport.ports.ring import RingService

log = logging.getLogger(__name__)

Registrar = Callable[[Any], Iterable[str]]
"""Adds servicers to the ``grpc.aio.Server`` it is given (before the server starts) and returns
the full names of the services it added, e.g.::

    def register_files(server: grpc.aio.Server) -> list[str]:
        files_pb2_grpc.add_FilesServicer_to_server(FilesServicer(store), server)
        return [files_pb2.DESCRIPTOR.services_by_name["Files"].full_name]
"""


def join_host_port(host: str, port: int) -> str:
    """``host:port``, with an IPv6 literal in brackets."""
    if ":" in host and not host.startswith("["):
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def _bind_problem(host: str, port: int) -> str:
    """Why ``host:port`` cannot be bound: gRPC only says that it failed, so try a plain socket
    with the same ``SO_REUSEADDR`` setting gRPC uses and report its errno."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"cannot resolve host {host!r} ({exc.strerror})"
    family, kind, proto, _, sockaddr = found[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(sockaddr)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "address already in use (another process is listening there)"
            if exc.errno == errno.EADDRNOTAVAIL:
                return "address not available on this host"
            if exc.errno == errno.EACCES:
                return "permission denied (ports below 1024 need privileges)"
            return exc.strerror or str(exc)
    return "gRPC could not bind it (set GRPC_VERBOSITY=debug to see why)"


class GrpcServer:
    """Serves one node's :class:`RingService` (and registered extra services) over gRPC."""

    def __init__(
        self,
        service: RingService,
        host: str,
        port: int,
        *,
        space: IdSpace | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        metrics: ServerMetrics | None = None,
        tls: PeerTls | None = None,
    ) -> None:
        """``space``: the ring's id space, to reject ids outside it before they reach the node
        (default: the 160-bit ring). ``metrics``: where RPCs are counted (default: the metrics
        shared on Prometheus' default registry). ``tls``: serve mutual TLS only, clients
        authenticated by the cluster CA, Rectify/LeaveNotice claims checked against the caller's
        certificate (default: plaintext)."""
        if not 0 <= port <= 65535:
            raise ConfigError(f"gRPC port must be in 0..65535, got {port}")
        self.host = host
        self.requested_port = port
        self.max_message_bytes = max_message_bytes
        self._options = server_options(max_message_bytes)
        self._service = service
        self._codec = WireCodec(space or IdSpace(), InvalidInput)
        self._metrics = metrics
        self.tls = tls
        self.malformed = WarningLimiter()
        """Which malformed requests this server logs (one warning per peer per minute)."""
        self._registrars: list[Registrar] = []
        self._server: Any = None
        self._health: health.aio.HealthServicer | None = None
        self.services: tuple[str, ...] = ()
        """Full names of the application services served, once started."""
        self.port: int | None = None
        """The bound port, once started."""

    @property
    def address(self) -> str:
        """``host:port`` actually bound (after start) or requested (before)."""
        return join_host_port(
            self.host, self.port if self.port is not None else self.requested_port
        )

    def add_servicer(self, registrar: Registrar) -> None:
        """Have ``registrar`` add its services when the server starts (see :data:`Registrar`)."""
        if self._server is not None:
            raise RuntimeError("add_servicer must be called before start")
        self._registrars.append(registrar)

    async def start(self) -> int:
        """Bind, start serving and report SERVING; returns the bound port.

        Raises ``ConfigError`` (saying why, e.g. "address already in use") if the address
        cannot be bound.
        """
        if self._server is not None:
            raise RuntimeError("GrpcServer already started")
        metrics = self._metrics or ServerMetrics.shared()
        interceptors = [
            metrics.interceptor(),
            error_interceptor(),
            WrappingInterceptor(calls_per_host()),
            MalformedRequestInterceptor(self.malformed),
        ]
        if self.tls is not None:
            interceptors.append(CallerClaimInterceptor())
        server = grpc.aio.server(
            interceptors=interceptors,
            options=self._options,
        )
        ring_pb2_grpc.add_RingServicer_to_server(RingServicer(self._service, self._codec), server)
        services = [RING_SERVICE_NAME]
        for registrar in self._registrars:
            services.extend(registrar(server))
        checker = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(checker, server)
        reflection.enable_server_reflection(
            [*services, health.SERVICE_NAME, reflection.SERVICE_NAME], server
        )
        for name in ("", *services):
            await checker.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        address = join_host_port(self.host, self.requested_port)
        try:
            if self.tls is not None:
                port = server.add_secure_port(address, self.tls.server_credentials())
            else:
                port = server.add_insecure_port(address)
        except RuntimeError as exc:
            await server.stop(None)
            raise ConfigError(
                f"cannot serve gRPC on {address}: {_bind_problem(self.host, self.requested_port)}"
            ) from exc
        if not port:  # older grpcio versions return 0 instead of raising
            await server.stop(None)
            raise ConfigError(
                f"cannot serve gRPC on {address}: {_bind_problem(self.host, self.requested_port)}"
            )
        await server.start()
        for name in ("", *services):
            await checker.set(name, health_pb2.HealthCheckResponse.SERVING)
        self._server, self._health = server, checker
        self.services = tuple(services)
        self.port = int(port)
        log.info("gRPC server listening on %s (%s)", self.address, ", ".join(services))
        return self.port

    async def stop(self, grace: float) -> None:
        """Report NOT_SERVING, let in-flight RPCs finish for up to ``grace`` seconds, then
        cancel the rest and close the listening socket. Safe to call twice or before start."""
        server, checker = self._server, self._health
        if server is None:
            return
        self._server = None
        self._health = None
        if checker is not None:
            await checker.enter_graceful_shutdown()
        await server.stop(grace)
        log.info("gRPC server on %s stopped", self.address)
