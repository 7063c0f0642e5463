"""Mutual TLS on a real gRPC server on loopback: who gets in, and claims about the caller.

The served RingService counts the calls that reach it, so a refused caller is shown to have been
stopped before any handler ran.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from prometheus_client import CollectorRegistry

from chordshare.errors import InvalidInput
from chordshare.ring import IdSpace, NextHop, PeerRef
from chordshare.service import certs
from chordshare.transport.grpc import GrpcServer, ServerMetrics
from chordshare.transport.grpc.generated import ring_pb2 as pb
from chordshare.transport.grpc.generated import ring_pb2_grpc
from chordshare.transport.grpc.ring.codec import WireCodec
from chordshare.transport.grpc.tls import PeerTls
from chordshare.transport.ports.ring import NodeInfo

CLIENT_ADDRESS = "127.0.0.1:5555"
"""The address certified for the trusted client (it does not need to serve there)."""
CODEC = WireCodec(IdSpace(), InvalidInput)
TIMEOUT = 5.0


class CountingService:
    """A RingService that counts every call reaching it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def get_node_info(self) -> NodeInfo:
        self.calls.append("get_node_info")
        return NodeInfo(PeerRef(1, "127.0.0.1:1"), None, ())

    async def find_successor_step(self, key: int, exclude: Collection[int]) -> NextHop:
        self.calls.append("find_successor_step")
        return NextHop(True, (PeerRef(1, "127.0.0.1:1"),))

    async def rectify(self, candidate: PeerRef) -> None:
        self.calls.append(f"rectify {candidate.grpc_address}")

    async def leave_notice(
        self, leaving: PeerRef, predecessor: PeerRef | None, successors: tuple[PeerRef, ...]
    ) -> None:
        self.calls.append(f"leave_notice {leaving.grpc_address}")

    async def ping(self) -> None:
        self.calls.append("ping")


def material(ca_dir: Path, address: str, out: Path, name: str) -> PeerTls:
    files = certs.issue_node(ca_dir, address, out, name=name)
    return PeerTls(
        (ca_dir / certs.CA_CERT).read_bytes(), files.cert.read_bytes(), files.key.read_bytes()
    )


@dataclass
class Served:
    service: CountingService
    address: str
    trusted: PeerTls
    """The cluster CA, with a client certificate for :data:`CLIENT_ADDRESS`."""
    root: Path


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    ca = tmp_path / "ca"
    certs.init_ca(ca)
    server_tls = material(ca, "127.0.0.1:1", tmp_path, "server")
    service = CountingService()
    server = GrpcServer(
        service, "127.0.0.1", 0, metrics=ServerMetrics(CollectorRegistry()), tls=server_tls
    )
    await server.start()
    try:
        yield Served(
            service, server.address, material(ca, CLIENT_ADDRESS, tmp_path, "client"), tmp_path
        )
    finally:
        await server.stop(0)


async def ping(channel: grpc.aio.Channel) -> None:
    async with channel:
        await ring_pb2_grpc.RingStub(channel).Ping(pb.PingRequest(), timeout=TIMEOUT)


async def test_a_client_with_a_certificate_from_the_cluster_ca_is_served(served: Served) -> None:
    creds = served.trusted.channel_credentials()
    await ping(grpc.aio.secure_channel(served.address, creds))
    assert served.service.calls[0] == "ping"


async def test_a_plaintext_client_never_reaches_a_handler(served: Served) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await ping(grpc.aio.insecure_channel(served.address))
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert served.service.calls == []


async def test_a_self_signed_client_never_reaches_a_handler(served: Served) -> None:
    alone = served.root / "alone"
    certs.init_ca(alone)
    creds = grpc.ssl_channel_credentials(
        served.trusted.ca,
        (alone / certs.CA_KEY).read_bytes(),
        (alone / certs.CA_CERT).read_bytes(),
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await ping(grpc.aio.secure_channel(served.address, creds))
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert served.service.calls == []


async def test_a_client_of_another_ca_never_reaches_a_handler(served: Served) -> None:
    other = served.root / "other-ca"
    certs.init_ca(other)
    foreign = material(other, CLIENT_ADDRESS, served.root, "foreign")
    creds = grpc.ssl_channel_credentials(served.trusted.ca, foreign.key, foreign.cert)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await ping(grpc.aio.secure_channel(served.address, creds))
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert served.service.calls == []


async def test_a_client_not_trusting_the_server_never_reaches_a_handler(served: Served) -> None:
    other = served.root / "other-ca"
    certs.init_ca(other)
    creds = grpc.ssl_channel_credentials(
        (other / certs.CA_CERT).read_bytes(), served.trusted.key, served.trusted.cert
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await ping(grpc.aio.secure_channel(served.address, creds))
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert served.service.calls == []


async def test_claims_about_the_caller_must_name_its_certified_address(served: Served) -> None:
    me, other = PeerRef(5, CLIENT_ADDRESS), PeerRef(6, "127.0.0.1:6666")
    async with grpc.aio.secure_channel(
        served.address, served.trusted.channel_credentials()
    ) as channel:
        stub = ring_pb2_grpc.RingStub(channel)
        for request in (
            stub.Rectify(CODEC.encode_rectify(other), timeout=TIMEOUT),
            stub.LeaveNotice(CODEC.encode_leave_notice(other, None, ()), timeout=TIMEOUT),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await request
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert CLIENT_ADDRESS in (refused.value.details() or "")
        assert served.service.calls == []
        await stub.Rectify(CODEC.encode_rectify(me), timeout=TIMEOUT)
        await stub.LeaveNotice(CODEC.encode_leave_notice(me, None, ()), timeout=TIMEOUT)
    assert served.service.calls == [f"rectify {CLIENT_ADDRESS}", f"leave_notice {CLIENT_ADDRESS}"]
