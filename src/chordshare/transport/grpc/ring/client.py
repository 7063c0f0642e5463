""":class:`GrpcPeerClient`: the real :class:`chordshare.transport.ports.ring.PeerClient`.

Every call carries a deadline (``timeout`` seconds), goes over a cached channel to the peer's
``grpc_address``, and ends in a domain value or a ``PeerError``: gRPC failures are translated
once, by :func:`chordshare.transport.grpc.status.calling`; replies that break the contract
become ``PeerProtocolError`` (the codec validates them). Replies that name the answering node
(``GetNodeInfo``, ``Ping``) are checked against the ``PeerRef`` asked: a different id means that
another node now lives at that address, which for the caller is as good as its peer being gone,
so it is reported as ``PeerUnavailable`` (the in-memory twin does the same).
"""

from __future__ import annotations

from collections.abc import Collection

from chordshare.errors import PeerProtocolError, PeerUnavailable
from chordshare.ring import IdSpace, NextHop, PeerRef
from chordshare.transport.grpc.channels import DEFAULT_MAX_CHANNELS, ChannelCache
from chordshare.transport.grpc.generated import ring_pb2 as pb
from chordshare.transport.grpc.generated import ring_pb2_grpc
from chordshare.transport.grpc.options import DEFAULT_MAX_MESSAGE_BYTES, channel_options
from chordshare.transport.grpc.ring.codec import WireCodec
from chordshare.transport.grpc.status import calling
from chordshare.transport.ports.ring import NodeInfo


class GrpcPeerClient:
    """Asks other nodes over gRPC. One per node; ``await close()`` when the node shuts down."""

    def __init__(
        self,
        timeout: float,
        *,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        space: IdSpace | None = None,
        max_channels: int = DEFAULT_MAX_CHANNELS,
    ) -> None:
        """``timeout``: the deadline of every call, in seconds (``RingSettings.rpc_timeout``).
        ``space``: the ring's id space, to reject peer ids outside it (default: 160 bits)."""
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.timeout = timeout
        self.space = space or IdSpace()
        self._codec = WireCodec(self.space, PeerProtocolError)
        self._channels = ChannelCache(
            channel_options(max_message_bytes), max_channels=max_channels, close_grace=timeout
        )
        self._stubs: dict[str, tuple[object, ring_pb2_grpc.RingStub]] = {}
        """The stub of each address's current channel: building one makes a callable per RPC
        of the service, which costs a noticeable part of a loopback call."""

    @property
    def channels(self) -> ChannelCache:
        return self._channels

    async def close(self) -> None:
        """Close every channel; calls made afterwards raise ``PeerUnavailable``."""
        await self._channels.close()

    # -- PeerClient ---------------------------------------------------------------------------

    async def get_node_info(self, peer: PeerRef) -> NodeInfo:
        with calling(peer.grpc_address, "GetNodeInfo"):
            reply = await self._stub(peer).GetNodeInfo(
                pb.GetNodeInfoRequest(), timeout=self.timeout
            )
            info = self._codec.decode_node_info(reply)
        self._check_identity(peer, info.peer.id, "GetNodeInfo")
        return info

    async def find_successor_step(
        self, peer: PeerRef, key: int, exclude: Collection[int]
    ) -> NextHop:
        request = self._codec.encode_step_request(key, exclude)
        with calling(peer.grpc_address, "FindSuccessorStep"):
            reply = await self._stub(peer).FindSuccessorStep(request, timeout=self.timeout)
            return self._codec.decode_next_hop(reply)

    async def rectify(self, peer: PeerRef, candidate: PeerRef) -> None:
        request = self._codec.encode_rectify(candidate)
        with calling(peer.grpc_address, "Rectify"):
            await self._stub(peer).Rectify(request, timeout=self.timeout)

    async def leave_notice(
        self,
        peer: PeerRef,
        leaving: PeerRef,
        predecessor: PeerRef | None,
        successors: tuple[PeerRef, ...],
    ) -> None:
        request = self._codec.encode_leave_notice(leaving, predecessor, successors)
        with calling(peer.grpc_address, "LeaveNotice"):
            await self._stub(peer).LeaveNotice(request, timeout=self.timeout)

    async def ping(self, peer: PeerRef) -> None:
        with calling(peer.grpc_address, "Ping"):
            reply = await self._stub(peer).Ping(pb.PingRequest(), timeout=self.timeout)
            answered = self._codec.decode_ping_response(reply)
        self._check_identity(peer, answered, "Ping")

    # -- helpers ------------------------------------------------------------------------------

    def _stub(self, peer: PeerRef) -> ring_pb2_grpc.RingStub:
        if self._channels.closed:
            raise PeerUnavailable(f"cannot reach {peer.grpc_address}: the client is closed")
        channel = self._channels.get(peer.grpc_address)
        kept = self._stubs.get(peer.grpc_address)
        if kept is not None and kept[0] is channel:
            return kept[1]
        stub = ring_pb2_grpc.RingStub(channel)
        self._stubs[peer.grpc_address] = (channel, stub)
        if len(self._stubs) > 2 * self._channels.max_channels:
            # addresses whose channel was evicted: keep only the current ones
            self._stubs = {a: k for a, k in self._stubs.items() if a in self._channels}
        return stub

    def _check_identity(self, peer: PeerRef, answered: int, method: str) -> None:
        if answered != peer.id:
            raise PeerUnavailable(
                f"{method}: node {self.space.hex(answered)} answered at {peer.grpc_address}, "
                f"not {self.space.hex(peer.id)}: a different node now lives there"
            )
