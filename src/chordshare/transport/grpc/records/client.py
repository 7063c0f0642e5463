""":class:`GrpcRecordClient`: the real :class:`chordshare.transport.ports.records.RecordClient`.

It shares the node's :class:`GrpcPeerClient`: the same cached channel per peer (so ring and
record calls to a neighbour ride one connection), the same id space, and the same translation
of gRPC failures (:func:`chordshare.transport.grpc.status.calling`). Replies are validated by
:class:`RecordCodec`; one that breaks the contract raises ``PeerProtocolError``.
"""

from __future__ import annotations

from collections.abc import Sequence

from chordshare.errors import PeerProtocolError, PeerUnavailable
from chordshare.model.manifest import FileRecord
from chordshare.model.records import RecordKey, RecordPage
from chordshare.ring import PeerRef
from chordshare.transport.grpc.generated import records_pb2_grpc
from chordshare.transport.grpc.records.codec import RecordCodec
from chordshare.transport.grpc.ring.client import GrpcPeerClient
from chordshare.transport.grpc.status import calling

DEFAULT_RECORD_TIMEOUT = 10.0
"""Deadline of one record call, in seconds. A call moves up to ~3 MiB and one SQLite transaction
on the receiver: 10 s covers that over a 5 Mbit/s link. StoreRecords with ``replicate`` waits for
the owner's own (concurrent) calls to its replicas, so it gets :data:`REPLICATE_FACTOR` times as
long: the owner's calls then time out before ours does."""

REPLICATE_FACTOR = 2

PROVIDES_TIMEOUT = 2.0
"""Deadline of one Provides call, in seconds (at most the record timeout): a tiny reply from a
live provider takes milliseconds, and a downloader asks several providers before it picks a
variant, so an invented address must not hold the choice for a full record deadline."""


class GrpcRecordClient:
    """Asks other nodes about records over gRPC, through ``peers``' channels."""

    def __init__(self, peers: GrpcPeerClient, *, timeout: float = DEFAULT_RECORD_TIMEOUT) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.peers = peers
        self.timeout = timeout
        self._codec = RecordCodec(peers.space, PeerProtocolError)

    async def store_records(
        self, peer: PeerRef, records: Sequence[FileRecord], replicate: bool
    ) -> None:
        request = self._codec.encode_store(records, replicate)
        deadline = self.timeout * (REPLICATE_FACTOR if replicate else 1)
        with calling(peer.grpc_address, "StoreRecords"):
            await self._stub(peer).StoreRecords(request, timeout=deadline)

    async def get_records(self, peer: PeerRef, name: str) -> list[FileRecord]:
        with calling(peer.grpc_address, "GetRecords"):
            reply = await self._stub(peer).GetRecords(
                self._codec.encode_get_request(name), timeout=self.timeout
            )
            return self._codec.decode_get_response(reply, name)

    async def fetch_range(
        self, peer: PeerRef, start: int, end: int, after: RecordKey | None
    ) -> RecordPage:
        request = self._codec.encode_range(start, end, after)
        with calling(peer.grpc_address, "FetchRange"):
            reply = await self._stub(peer).FetchRange(request, timeout=self.timeout)
            return self._codec.decode_page(reply)

    async def range_digest(self, peer: PeerRef, start: int, end: int) -> bytes:
        request = self._codec.encode_digest_request(start, end)
        with calling(peer.grpc_address, "RangeDigest"):
            reply = await self._stub(peer).RangeDigest(request, timeout=self.timeout)
            return self._codec.decode_digest(reply)

    async def list_names(self, peer: PeerRef, after: str, limit: int) -> list[str]:
        request = self._codec.encode_list_request(after, limit)
        with calling(peer.grpc_address, "ListNames"):
            reply = await self._stub(peer).ListNames(request, timeout=self.timeout)
            return self._codec.decode_names(reply, after, limit)

    async def provides(self, peer: PeerRef, key: RecordKey) -> tuple[int, bool]:
        request = self._codec.encode_provides_request(key)
        with calling(peer.grpc_address, "Provides"):
            reply = await self._stub(peer).Provides(
                request, timeout=min(self.timeout, PROVIDES_TIMEOUT)
            )
            return self._codec.decode_provides(reply)

    async def find_word(self, peer: PeerRef, word: str, after: RecordKey | None) -> RecordPage:
        request = self._codec.encode_find_word(word, after)
        with calling(peer.grpc_address, "FindWord"):
            reply = await self._stub(peer).FindWord(request, timeout=self.timeout)
            return self._codec.decode_word_page(reply, word)

    # -- helpers ------------------------------------------------------------------------------

    def _stub(self, peer: PeerRef) -> records_pb2_grpc.RecordsStub:
        channels = self.peers.channels
        if channels.closed:
            raise PeerUnavailable(f"cannot reach {peer.grpc_address}: the client is closed")
        return records_pb2_grpc.RecordsStub(channels.get(peer.grpc_address))
