"""The ``Records`` servicer: decode the request, call the node's :class:`RecordService`, encode.

Validation is the codec's; errors become statuses once, in the server's error interceptor
(shared with the ring service). Register it on the node's :class:`GrpcServer` with
:func:`records_registrar`::

    server.add_servicer(records_registrar(record_node, space))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chordshare.errors import InvalidInput
from chordshare.ring import IdSpace
from chordshare.transport.grpc.generated import records_pb2 as pb
from chordshare.transport.grpc.generated import records_pb2_grpc
from chordshare.transport.grpc.records.codec import RecordCodec
from chordshare.transport.ports.records import RecordService

RECORDS_SERVICE_NAME: str = pb.DESCRIPTOR.services_by_name["Records"].full_name
"""``chordshare.records.v1.Records``: the name health checks and reflection know it by."""


class RecordsServicer(records_pb2_grpc.RecordsServicer):
    """Serves ``chordshare.records.v1.Records`` for one node."""

    def __init__(self, service: RecordService, codec: RecordCodec) -> None:
        self._service = service
        self._codec = codec

    async def StoreRecords(  # noqa: N802  (names are the proto's)
        self, request: pb.StoreRecordsRequest, context: Any
    ) -> pb.StoreRecordsResponse:
        records, replicate = self._codec.decode_store(request)
        await self._service.store_records(records, replicate)
        return pb.StoreRecordsResponse()

    async def GetRecords(  # noqa: N802
        self, request: pb.GetRecordsRequest, context: Any
    ) -> pb.GetRecordsResponse:
        name = self._codec.decode_get_request(request)
        records = await self._service.get_records(name)
        return pb.GetRecordsResponse(records=self._codec.encode_records(records))

    async def FetchRange(  # noqa: N802
        self, request: pb.FetchRangeRequest, context: Any
    ) -> pb.FetchRangeResponse:
        start, end, after = self._codec.decode_range(request)
        return self._codec.encode_page(await self._service.fetch_range(start, end, after))

    async def RangeDigest(  # noqa: N802
        self, request: pb.RangeDigestRequest, context: Any
    ) -> pb.RangeDigestResponse:
        start, end = self._codec.decode_digest_request(request)
        return self._codec.encode_digest(await self._service.range_digest(start, end))

    async def ListNames(  # noqa: N802
        self, request: pb.ListNamesRequest, context: Any
    ) -> pb.ListNamesResponse:
        after, limit = self._codec.decode_list_request(request)
        return self._codec.encode_names(await self._service.list_names(after, limit))

    async def Provides(  # noqa: N802
        self, request: pb.ProvidesRequest, context: Any
    ) -> pb.ProvidesResponse:
        key = self._codec.decode_provides_request(request)
        node_id, provides = await self._service.provides(key)
        return self._codec.encode_provides(node_id, provides)

    async def FindWord(  # noqa: N802
        self, request: pb.FindWordRequest, context: Any
    ) -> pb.FindWordResponse:
        word, after = self._codec.decode_find_word(request)
        return self._codec.encode_word_page(await self._service.find_word(word, after))


def records_registrar(service: RecordService, space: IdSpace) -> Callable[[Any], list[str]]:
    """A :data:`chordshare.transport.grpc.server.Registrar` that serves ``service`` (the node's
    :class:`chordshare.node.records.node.RecordNode`) as ``chordshare.records.v1.Records``."""

    def register(server: Any) -> list[str]:
        servicer = RecordsServicer(service, RecordCodec(space, InvalidInput))
        records_pb2_grpc.add_RecordsServicer_to_server(servicer, server)
        return [RECORDS_SERVICE_NAME]

    return register
