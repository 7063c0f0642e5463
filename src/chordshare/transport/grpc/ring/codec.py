"""Where ``ring.proto`` messages meet the ring's domain types (``PeerRef``, ``NextHop``,
``NodeInfo``, int ids); the records and transfer codecs reuse its id and peer rules.

Everything that arrives from the network is validated here, before any domain code sees it: an
id must be 1..:data:`MAX_ID_BYTES` big-endian bytes whose value lies in the ring, an address must
be non-empty and of sane length, required sub-messages must be present. What is wrong depends on
who decodes, so a :class:`WireCodec` is built with the error to raise:

* the client decodes replies with ``PeerProtocolError`` (the peer broke the protocol);
* the server decodes requests with ``InvalidInput`` (which the server maps to INVALID_ARGUMENT).

Encoding trusts domain values (they validated themselves on construction) apart from checking
that ids fit the ring: an id outside it is a bug on our side and raises ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf.message import Message

from chordshare.errors import ChordshareError
from chordshare.model.limits import MAX_ADDRESS_CHARS, MAX_URL_CHARS
from chordshare.ring import IdSpace, NextHop, PeerRef
from chordshare.ring.ids import MAX_BITS
from chordshare.transport.grpc.generated import ring_pb2 as pb
from chordshare.transport.ports.ring import NodeInfo

MAX_ID_BYTES = (MAX_BITS + 7) // 8
"""20: a 160-bit (SHA-1) id; no ring is wider (``chordshare.ring.ids.MAX_BITS``)."""


class WireCodec:
    """Converts between ``ring.proto`` messages and domain values for one ring ``space``.

    ``error`` is raised, with a message naming the offending field, for anything received that
    breaks the contract.
    """

    def __init__(self, space: IdSpace, error: type[ChordshareError]) -> None:
        self.space = space
        self.error = error
        self.id_bytes = (space.bits + 7) // 8
        """Width of every id this codec writes: the fewest bytes that hold any id of the ring."""

    # -- ids --------------------------------------------------------------------------------

    def encode_id(self, ident: int) -> bytes:
        return self.space.check(ident).to_bytes(self.id_bytes, "big")

    def decode_id(self, data: bytes, field: str) -> int:
        if not data:
            raise self.error(f"{field}: empty id (id 0 is sent as zero bytes, never omitted)")
        if len(data) > MAX_ID_BYTES:
            raise self.error(f"{field}: id of {len(data)} bytes, at most {MAX_ID_BYTES} allowed")
        ident = int.from_bytes(data, "big")
        if ident >= self.space.size:
            raise self.error(f"{field}: id {ident:#x} is outside the {self.space.bits}-bit ring")
        return ident

    def decode_ids(self, items: Iterable[bytes], field: str) -> frozenset[int]:
        return frozenset(self.decode_id(data, f"{field}[{i}]") for i, data in enumerate(items))

    # -- peers ------------------------------------------------------------------------------

    def encode_peer(self, peer: PeerRef) -> pb.Peer:
        return pb.Peer(
            id=self.encode_id(peer.id), grpc_address=peer.grpc_address, http_url=peer.http_url
        )

    def decode_peer(self, msg: pb.Peer, field: str) -> PeerRef:
        ident = self.decode_id(msg.id, f"{field}.id")
        if not msg.grpc_address:
            raise self.error(f"{field}.grpc_address: empty")
        if len(msg.grpc_address) > MAX_ADDRESS_CHARS:
            raise self.error(f"{field}.grpc_address: longer than {MAX_ADDRESS_CHARS} characters")
        if len(msg.http_url) > MAX_URL_CHARS:
            raise self.error(f"{field}.http_url: longer than {MAX_URL_CHARS} characters")
        return PeerRef(ident, msg.grpc_address, msg.http_url)

    def decode_peers(self, items: Iterable[pb.Peer], field: str) -> tuple[PeerRef, ...]:
        return tuple(self.decode_peer(msg, f"{field}[{i}]") for i, msg in enumerate(items))

    def _required_peer(self, parent: Message, msg: pb.Peer, field: str) -> PeerRef:
        if not parent.HasField(field):
            raise self.error(f"{field}: missing")
        return self.decode_peer(msg, field)

    def _optional_peer(self, parent: Message, msg: pb.Peer, field: str) -> PeerRef | None:
        return self.decode_peer(msg, field) if parent.HasField(field) else None

    # -- GetNodeInfo ------------------------------------------------------------------------

    def encode_node_info(self, info: NodeInfo) -> pb.GetNodeInfoResponse:
        return pb.GetNodeInfoResponse(
            peer=self.encode_peer(info.peer),
            predecessor=None if info.predecessor is None else self.encode_peer(info.predecessor),
            successors=[self.encode_peer(p) for p in info.successors],
            leaving=info.leaving,
        )

    def decode_node_info(self, msg: pb.GetNodeInfoResponse) -> NodeInfo:
        return NodeInfo(
            peer=self._required_peer(msg, msg.peer, "peer"),
            predecessor=self._optional_peer(msg, msg.predecessor, "predecessor"),
            successors=self.decode_peers(msg.successors, "successors"),
            leaving=msg.leaving,
        )

    # -- FindSuccessorStep ------------------------------------------------------------------

    def encode_step_request(self, key: int, exclude: Iterable[int]) -> pb.FindSuccessorStepRequest:
        return pb.FindSuccessorStepRequest(
            key=self.encode_id(key), exclude=[self.encode_id(i) for i in sorted(exclude)]
        )

    def decode_step_request(self, msg: pb.FindSuccessorStepRequest) -> tuple[int, frozenset[int]]:
        return self.decode_id(msg.key, "key"), self.decode_ids(msg.exclude, "exclude")

    def encode_next_hop(self, hop: NextHop) -> pb.FindSuccessorStepResponse:
        return pb.FindSuccessorStepResponse(
            done=hop.done, peers=[self.encode_peer(p) for p in hop.peers]
        )

    def decode_next_hop(self, msg: pb.FindSuccessorStepResponse) -> NextHop:
        if not msg.peers:
            # The lookup reads peers[0] as the owner or the next hop: an empty answer has neither.
            raise self.error("peers: empty (a step always names an owner or a next hop)")
        return NextHop(done=msg.done, peers=self.decode_peers(msg.peers, "peers"))

    # -- Rectify ----------------------------------------------------------------------------

    def encode_rectify(self, candidate: PeerRef) -> pb.RectifyRequest:
        return pb.RectifyRequest(candidate=self.encode_peer(candidate))

    def decode_rectify(self, msg: pb.RectifyRequest) -> PeerRef:
        return self._required_peer(msg, msg.candidate, "candidate")

    # -- LeaveNotice ------------------------------------------------------------------------

    def encode_leave_notice(
        self, leaving: PeerRef, predecessor: PeerRef | None, successors: Iterable[PeerRef]
    ) -> pb.LeaveNoticeRequest:
        return pb.LeaveNoticeRequest(
            leaving=self.encode_peer(leaving),
            predecessor=None if predecessor is None else self.encode_peer(predecessor),
            successors=[self.encode_peer(p) for p in successors],
        )

    def decode_leave_notice(
        self, msg: pb.LeaveNoticeRequest
    ) -> tuple[PeerRef, PeerRef | None, tuple[PeerRef, ...]]:
        return (
            self._required_peer(msg, msg.leaving, "leaving"),
            self._optional_peer(msg, msg.predecessor, "predecessor"),
            self.decode_peers(msg.successors, "successors"),
        )

    # -- Ping -------------------------------------------------------------------------------

    def encode_ping_response(self, ident: int) -> pb.PingResponse:
        return pb.PingResponse(id=self.encode_id(ident))

    def decode_ping_response(self, msg: pb.PingResponse) -> int:
        return self.decode_id(msg.id, "id")
