"""The ``Ring`` servicer: decode the request, call the node's :class:`RingService`, encode.

Nothing else happens here. Validation is the codec's (it raises ``InvalidInput``), and every
error is turned into a status once, by the server's error interceptor
(:mod:`chordshare.transport.grpc.interceptors`).
"""

from __future__ import annotations

from typing import Any

from chordshare.transport.grpc.generated import ring_pb2 as pb
from chordshare.transport.grpc.generated import ring_pb2_grpc
from chordshare.transport.grpc.ring.codec import WireCodec
from chordshare.transport.ports.ring import RingService

RING_SERVICE_NAME: str = pb.DESCRIPTOR.services_by_name["Ring"].full_name
"""``chordshare.ring.v1.Ring``: the name health checks and reflection know the service by."""


class RingServicer(ring_pb2_grpc.RingServicer):
    """Serves ``chordshare.ring.v1.Ring`` for one node."""

    def __init__(self, service: RingService, codec: WireCodec) -> None:
        self._service = service
        self._codec = codec

    async def GetNodeInfo(  # noqa: N802  (names are the proto's)
        self, request: pb.GetNodeInfoRequest, context: Any
    ) -> pb.GetNodeInfoResponse:
        return self._codec.encode_node_info(await self._service.get_node_info())

    async def FindSuccessorStep(  # noqa: N802
        self, request: pb.FindSuccessorStepRequest, context: Any
    ) -> pb.FindSuccessorStepResponse:
        key, exclude = self._codec.decode_step_request(request)
        return self._codec.encode_next_hop(await self._service.find_successor_step(key, exclude))

    async def Rectify(  # noqa: N802
        self, request: pb.RectifyRequest, context: Any
    ) -> pb.RectifyResponse:
        await self._service.rectify(self._codec.decode_rectify(request))
        return pb.RectifyResponse()

    async def LeaveNotice(  # noqa: N802
        self, request: pb.LeaveNoticeRequest, context: Any
    ) -> pb.LeaveNoticeResponse:
        leaving, predecessor, successors = self._codec.decode_leave_notice(request)
        await self._service.leave_notice(leaving, predecessor, successors)
        return pb.LeaveNoticeResponse()

    async def Ping(self, request: pb.PingRequest, context: Any) -> pb.PingResponse:  # noqa: N802
        await self._service.ping()
        # The id lets the caller tell its peer from a newcomer at the same address.
        info = await self._service.get_node_info()
        return self._codec.encode_ping_response(info.peer.id)
