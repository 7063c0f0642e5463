"""Recognise a gRPC port given where a REST URL belongs (a seed, ``--node``).

A node serves gRPC and REST on two ports, and the gRPC one is the easy one to paste by mistake.
Asked an HTTP/1.1 request, a gRPC server answers in HTTP/2, which httpx reports as a bare
protocol error ("illegal request line"). :func:`speaks_http2` tells that case apart: it sends
the HTTP/2 client connection preface (RFC 9113 §3.4) and checks that the first frame back is a
SETTINGS frame, which every HTTP/2 server sends first; an HTTP/1.1 server answers the preface
with an error status line instead.
"""

from __future__ import annotations

import socket

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
EMPTY_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
"""A SETTINGS frame with no settings: length 0, type 4, no flags, stream 0 (RFC 9113 §6.5)."""
FRAME_HEADER = 9
SETTINGS = 4

PROBE_TIMEOUT = 2.0
"""Seconds for the probe's connect and read: it follows an answer from the same port, so the
peer is up and replies at once; the bound only matters for a port that went silent."""


def speaks_http2(host: str, port: int, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether the server at ``host:port`` speaks HTTP/2 without TLS (as gRPC without TLS
    does). False for anything else, an unreachable port included."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(PREFACE + EMPTY_SETTINGS)
            header = b""
            while len(header) < FRAME_HEADER:
                chunk = sock.recv(FRAME_HEADER - len(header))
                if not chunk:
                    return False
                header += chunk
    except OSError:
        return False
    return header[3] == SETTINGS and header[5:9] == b"\x00\x00\x00\x00"


def grpc_port_message(host: str, port: int) -> str:
    """What to tell a user who gave the gRPC port ``host:port`` as a REST URL."""
    where = f"[{host}]" if ":" in host else host
    return (
        f"{where}:{port} is a gRPC port; seeds (and --node) are REST URLs such as "
        f"http://{where}:REST_PORT (the node's http_port)"
    )
