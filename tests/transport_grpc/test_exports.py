"""The public surface of the gRPC transport, pinned (DESIGN.md principle 11)."""

from __future__ import annotations

import chordshare.transport.grpc as transport_grpc
from chordshare.transport.grpc import GrpcPeerClient
from chordshare.transport.ports.ring import PeerClient, RingService


def test_exported_members() -> None:
    assert set(transport_grpc.__all__) == {
        "DEFAULT_MAX_CHANNELS",
        "DEFAULT_MAX_MESSAGE_BYTES",
        "MAX_ID_BYTES",
        "RING_SERVICE_NAME",
        "ChannelCache",
        "GrpcPeerClient",
        "GrpcServer",
        "Registrar",
        "ServerMetrics",
        "WireCodec",
        "join_host_port",
    }
    for name in transport_grpc.__all__:
        assert getattr(transport_grpc, name) is not None


def test_client_satisfies_the_peer_client_protocol() -> None:
    client: PeerClient = GrpcPeerClient(1.0)  # type-checked by mypy on the tests, too
    for name in ("get_node_info", "find_successor_step", "rectify", "leave_notice", "ping"):
        assert callable(getattr(client, name))
        assert hasattr(RingService, name)
