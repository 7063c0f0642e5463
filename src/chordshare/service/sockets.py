"""The sockets a node listens on, bound by the node itself or handed to it already bound.

A node's addresses are part of its identity (the id is the hash of ``host:grpc_port``) and of
other nodes' configs (seeds are REST URLs), so a port picked by the kernel (port 0) must be
known before the server on it exists, and must stay ours until that server listens. Probing a
port and closing the probe would leave it free for anyone in between; a socket that stays bound
(:func:`reserve_port`) does not.

* :func:`bind_socket`: bound and listening at once (the REST server, port 0 or not);
* :func:`reserve_port`: bound, not listening, held until the server that will use the port
  takes it over: a node process inheriting it (:func:`listen_on`) or, for gRPC, which cannot
  adopt a socket, the server binding the port the moment the reservation is closed;
* :func:`listen_on`: start listening on a socket bound elsewhere (inherited or reserved).

Only the standard library here: the launcher imports it without importing the servers.
"""

from __future__ import annotations

import errno
import ipaddress
import socket

from chordshare.errors import ConfigError

BACKLOG = 512
"""Pending connections the kernel queues; enough for a burst of CLI and discovery requests."""


def _tcp_socket(host: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets created with it, and without
    # it uvicorn's separate header and body writes wait 40 ms for the client's delayed ACK.
    return socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _bind_error(exc: OSError, host: str, port: int, what: str) -> ConfigError:
    if exc.errno == errno.EADDRINUSE:
        return ConfigError(f"{what} port {port} on {host} is already in use")
    return ConfigError(f"cannot listen for {what} on {host}:{port}: {exc.strerror}")


def bind_socket(host: str, port: int, what: str) -> socket.socket:
    """A listening TCP socket on ``host:port``; a port in use is a one-line ConfigError."""
    sock = _tcp_socket(host)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise _bind_error(exc, host, port, what) from exc
    sock.setblocking(False)
    return sock


def reserve_port(host: str, what: str) -> socket.socket:
    """A socket bound to a free port on ``host`` and not listening: nothing connects to it, and
    while it is open no other socket can bind the port (it has no ``SO_REUSEADDR``, and the
    kernel hands out ports nobody holds). Its port is ``sock.getsockname()[1]``."""
    sock = _tcp_socket(host)
    try:
        sock.bind((host, 0))
    except OSError as exc:
        sock.close()
        raise _bind_error(exc, host, 0, what) from exc
    return sock


def listen_on(sock: socket.socket, host: str, port: int, what: str) -> socket.socket:
    """Listen on ``sock``, a TCP socket bound elsewhere (a reservation, or one inherited from
    the process that started us), after checking it is bound where the config says: the
    address a node advertises must be the one it serves on (``port`` 0 accepts any port; a host
    name is not resolved to be compared)."""
    try:
        if sock.type != socket.SOCK_STREAM:
            raise ConfigError(f"the {what} socket handed over is not a TCP socket")
        bound_host, bound_port = sock.getsockname()[:2]
        if port and bound_port != port:
            raise ConfigError(
                f"the {what} socket handed over is bound to port {bound_port}, not {port}"
            )
        if _is_ip(host) and ipaddress.ip_address(bound_host) != ipaddress.ip_address(host):
            raise ConfigError(f"the {what} socket handed over is bound to {bound_host}, not {host}")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.listen(BACKLOG)
    except OSError as exc:
        raise ConfigError(f"cannot listen for {what} on the socket handed over: {exc}") from exc
    sock.setblocking(False)
    return sock
