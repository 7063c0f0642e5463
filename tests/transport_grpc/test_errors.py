"""Errors are translated once on each side, and nothing of a traceback crosses the wire."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from prometheus_client import CollectorRegistry

from chordshare.errors import (
    ChordshareError,
    ConfigError,
    IntegrityError,
    InvalidInput,
    JoinFailed,
    LookupFailed,
    NotFound,
    PeerProtocolError,
    PeerTimeout,
    PeerUnavailable,
    StorageError,
)
from chordshare.ring import IdSpace, PeerRef
from chordshare.transport.grpc import GrpcServer, ServerMetrics
from chordshare.transport.grpc.generated import ring_pb2 as pb
from chordshare.transport.grpc.generated import ring_pb2_grpc

from .conftest import ME, Nodes, ObservedMetrics, ScriptedService

SPACE = IdSpace(160)


def at(server: GrpcServer, ident: int = ME.id) -> PeerRef:
    return PeerRef(ident, server.address)


@pytest.fixture
async def raw_stub_factory() -> AsyncIterator[Any]:
    channels: list[Any] = []

    def make(address: str) -> ring_pb2_grpc.RingStub:
        channel = grpc.aio.insecure_channel(address)
        channels.append(channel)
        return ring_pb2_grpc.RingStub(channel)

    yield make
    for channel in channels:
        await channel.close()


# -- client side: gRPC failures become PeerErrors ---------------------------------------------


async def test_stopped_server_is_unavailable(nodes: Nodes) -> None:
    server = await nodes.serve(ScriptedService(), SPACE)
    peer = at(server)
    client = nodes.client(SPACE)
    await client.ping(peer)
    await server.stop(0)
    with pytest.raises(PeerUnavailable, match="UNAVAILABLE"):
        await client.ping(peer)
    with pytest.raises(PeerUnavailable):
        await client.get_node_info(peer)


async def test_handler_slower_than_the_deadline_is_a_timeout(nodes: Nodes) -> None:
    service = ScriptedService("hang")
    server = await nodes.serve(service, SPACE)
    client = nodes.client(SPACE, timeout=0.2)
    try:
        with pytest.raises(PeerTimeout, match="DEADLINE_EXCEEDED"):
            await client.find_successor_step(at(server), 5, ())
    finally:
        service.release.set()


async def test_malformed_replies_are_protocol_errors(nodes: Nodes) -> None:
    bad_id = PeerRef(1, "x:1")

    class Liar(ring_pb2_grpc.RingServicer):
        async def GetNodeInfo(self, request: Any, context: Any) -> Any:  # noqa: N802
            return pb.GetNodeInfoResponse(peer=pb.Peer(id=b"\x01" * 21, grpc_address="x:1"))

        async def FindSuccessorStep(self, request: Any, context: Any) -> Any:  # noqa: N802
            return pb.FindSuccessorStepResponse(done=True)  # no peers at all

        async def Ping(self, request: Any, context: Any) -> Any:  # noqa: N802
            return pb.PingResponse()  # no id

    server = grpc.aio.server()
    # Rectify and LeaveNotice are left to the generated base class, which answers UNIMPLEMENTED
    ring_pb2_grpc.add_RingServicer_to_server(Liar(), server)  # type: ignore[abstract]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        client = nodes.client(SPACE)
        peer = PeerRef(bad_id.id, f"127.0.0.1:{port}")
        with pytest.raises(PeerProtocolError, match="21 bytes"):
            await client.get_node_info(peer)
        with pytest.raises(PeerProtocolError, match="peers: empty"):
            await client.find_successor_step(peer, 3, ())
        with pytest.raises(PeerProtocolError, match="empty id"):
            await client.ping(peer)
        with pytest.raises(PeerProtocolError, match="UNIMPLEMENTED"):
            await client.rectify(peer, ME)
    finally:
        await server.stop(0)


async def test_a_key_outside_the_servers_ring_is_rejected(nodes: Nodes) -> None:
    server = await nodes.serve(ScriptedService(), IdSpace(8))
    client = nodes.client(SPACE)  # a 160-bit client talking to an 8-bit ring
    with pytest.raises(PeerProtocolError, match=r"INVALID_ARGUMENT.*outside the 8-bit ring"):
        await client.find_successor_step(at(server), 256, ())


# -- server side: exceptions become statuses --------------------------------------------------


@pytest.mark.parametrize(
    ("raised", "code"),
    [
        (InvalidInput("bad"), grpc.StatusCode.INVALID_ARGUMENT),
        (NotFound("gone"), grpc.StatusCode.NOT_FOUND),
        (PeerTimeout("third node slow"), grpc.StatusCode.UNAVAILABLE),
        (LookupFailed("no route"), grpc.StatusCode.UNAVAILABLE),
        (JoinFailed("not a member"), grpc.StatusCode.FAILED_PRECONDITION),
        (IntegrityError("piece 3 does not match"), grpc.StatusCode.DATA_LOSS),
        (StorageError("/home/me/secret.db: disk full"), grpc.StatusCode.INTERNAL),
    ],
)
async def test_chordshare_errors_map_to_status_codes(
    nodes: Nodes, raw_stub_factory: Any, raised: ChordshareError, code: grpc.StatusCode
) -> None:
    server = await nodes.serve(ScriptedService(raised), SPACE)
    stub = raw_stub_factory(server.address)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.Rectify(pb.RectifyRequest(candidate=pb.Peer(id=b"\x01", grpc_address="a:1")))
    assert info.value.code() == code
    if code == grpc.StatusCode.INTERNAL:
        assert info.value.details() == "internal error"  # local paths stay local
    else:
        assert info.value.details() == f"{type(raised).__name__}: {raised}"


async def test_a_bug_is_internal_without_details(
    nodes: Nodes, raw_stub_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server = await nodes.serve(ScriptedService(RuntimeError("secret state")), SPACE)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await raw_stub_factory(server.address).Ping(pb.PingRequest())
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert info.value.details() == "internal error"
    assert "secret" not in str(info.value.debug_error_string())
    assert "secret state" in caplog.text  # the traceback stays in this node's log
    with pytest.raises(PeerProtocolError, match="INTERNAL: internal error"):
        await nodes.client(SPACE).ping(at(server))


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (b"", "key: empty id"),
        (b"\x00" * 21, "key: id of 21 bytes"),
    ],
)
async def test_malformed_ids_are_invalid_argument(
    nodes: Nodes, raw_stub_factory: Any, key: bytes, message: str
) -> None:
    metrics = ObservedMetrics()
    server = await nodes.serve(ScriptedService(), SPACE, metrics=metrics)
    stub = raw_stub_factory(server.address)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.FindSuccessorStep(pb.FindSuccessorStepRequest(key=key))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in info.value.details()
    assert "Traceback" not in info.value.details()
    await metrics.settled(1)
    assert metrics.count("FindSuccessorStep", "INVALID_ARGUMENT") == 1


async def test_missing_and_empty_peers_are_invalid_argument(
    nodes: Nodes, raw_stub_factory: Any
) -> None:
    server = await nodes.serve(ScriptedService(), SPACE)
    stub = raw_stub_factory(server.address)
    for request, message in [
        (pb.RectifyRequest(), "candidate: missing"),
        (pb.RectifyRequest(candidate=pb.Peer(id=b"\x01")), "candidate.grpc_address: empty"),
        (pb.LeaveNoticeRequest(), "leaving: missing"),
    ]:
        call = stub.Rectify if isinstance(request, pb.RectifyRequest) else stub.LeaveNotice
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call(request)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert message in info.value.details()


# -- binding ----------------------------------------------------------------------------------


async def test_port_in_use_is_a_config_error_that_says_so() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = GrpcServer(
            ScriptedService(), "127.0.0.1", port, metrics=ServerMetrics(CollectorRegistry())
        )
        with pytest.raises(ConfigError, match=rf"127\.0\.0\.1:{port}: address already in use"):
            await server.start()


async def test_a_second_grpc_server_cannot_share_a_port(nodes: Nodes) -> None:
    first = await nodes.serve(ScriptedService(), SPACE)
    assert first.port is not None
    second = GrpcServer(
        ScriptedService(), "127.0.0.1", first.port, metrics=ServerMetrics(CollectorRegistry())
    )
    with pytest.raises(ConfigError, match="already in use"):
        await second.start()
