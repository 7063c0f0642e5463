"""Ports held from the moment they are picked until a server listens on them: a reservation
keeps every other socket off its port, and a socket handed over must be bound where the config
says before it is listened on; a node on port 0 advertises the ports it serves on."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from chordshare.client.rest import AsyncNodeApi
from chordshare.errors import ConfigError
from chordshare.service.sockets import bind_socket, listen_on, reserve_port

HOST = "127.0.0.1"


def test_a_reserved_port_cannot_be_bound_by_anyone_else() -> None:
    with reserve_port(HOST, "http") as held:
        port = held.getsockname()[1]
        assert port != 0
        with pytest.raises(ConfigError, match=f"http port {port} on {HOST} is already in use"):
            bind_socket(HOST, port, "http")
        with socket.socket() as other, pytest.raises(OSError, match="Address already in use"):
            other.bind((HOST, port))
    bind_socket(HOST, port, "http").close()  # free again once the reservation is closed


def test_a_reservation_is_not_listening_until_listened_on() -> None:
    with reserve_port(HOST, "http") as held:
        port = held.getsockname()[1]
        with socket.socket() as client, pytest.raises(ConnectionRefusedError):
            client.connect((HOST, port))
        listening = listen_on(held, HOST, port, "http")
        assert listening.proto == socket.IPPROTO_TCP  # asyncio then sets TCP_NODELAY
        with socket.create_connection((HOST, port), timeout=5):
            pass


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        (HOST, 1, "bound to port {port}, not 1"),
        ("127.0.0.2", 0, "bound to 127.0.0.1, not 127.0.0.2"),
    ],
)
def test_a_socket_bound_elsewhere_than_configured_is_refused(
    host: str, port: int, expected: str
) -> None:
    with reserve_port(HOST, "http") as held:
        message = expected.format(port=held.getsockname()[1])
        with pytest.raises(ConfigError, match=message):
            listen_on(held, host, port, "http")


def test_a_udp_socket_is_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind((HOST, 0))
        with pytest.raises(ConfigError, match="not a TCP socket"):
            listen_on(udp, HOST, 0, "http")


async def test_a_node_on_port_0_advertises_the_ports_it_serves_on(launch: Any) -> None:
    running = await launch(grpc_port=0, http_port=0)
    service = running.service
    assert service.node is not None
    me = service.node.me
    assert me.id == service.space.node_id(me.grpc_address)
    grpc_host, grpc_port = me.grpc_address.rsplit(":", 1)
    assert grpc_host == service.config.listen_host
    assert int(grpc_port) != 0
    with socket.create_connection((grpc_host, int(grpc_port)), timeout=5):
        pass  # gRPC listens where the node said it would
    async with AsyncNodeApi(me.http_url) as api:
        assert (await api.health()).id == service.space.hex(me.id)
    assert f"ready grpc={me.grpc_address} http={me.http_url} " in running.lines[0]
