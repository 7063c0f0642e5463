"""protobuf <-> domain round trips (through serialized bytes) and validation on decode."""

from __future__ import annotations

from typing import TypeVar

import pytest
from google.protobuf.message import Message
from hypothesis import given, settings
from hypothesis import strategies as st

from chordshare.errors import InvalidInput, PeerProtocolError
from chordshare.ring import IdSpace, NextHop, PeerRef
from chordshare.transport.grpc import MAX_ID_BYTES, WireCodec
from chordshare.transport.grpc.generated import ring_pb2 as pb
from chordshare.transport.grpc.ring.codec import MAX_ADDRESS_CHARS
from chordshare.transport.ports.ring import NodeInfo

FULL = IdSpace(160)
TOP = FULL.size - 1


@st.composite
def space_and_id(draw: st.DrawFn) -> tuple[IdSpace, int]:
    space = IdSpace(draw(st.integers(1, 160)))
    edge = st.sampled_from([0, 1, space.size - 1, max(space.size - 2, 0)])
    return space, draw(st.one_of(edge, st.integers(0, space.size - 1)))


LIST_EXAMPLES = settings(max_examples=40)
"""Round trips of peer lists: each example builds up to 16 peers; 40 examples cover empty, one and
many with both edge ids while keeping the file well under a second."""

ids_160 = st.one_of(
    st.sampled_from([0, 1, TOP, TOP - 1, 1 << 159, (1 << 152) - 1]), st.integers(0, TOP)
)
peers = st.builds(
    PeerRef,
    id=ids_160,
    grpc_address=st.text(min_size=1, max_size=40),
    http_url=st.text(max_size=40),
)


M = TypeVar("M", bound=Message)


def through_wire(msg: M) -> M:
    """What the other side sees: serialized and parsed again."""
    return type(msg).FromString(msg.SerializeToString())


def codec(space: IdSpace = FULL) -> WireCodec:
    return WireCodec(space, PeerProtocolError)


@given(space_and_id())
def test_ids_round_trip_at_the_rings_width(case: tuple[IdSpace, int]) -> None:
    space, ident = case
    c = codec(space)
    data = c.encode_id(ident)
    assert len(data) == (space.bits + 7) // 8
    assert c.decode_id(data, "id") == ident


def test_id_zero_and_the_top_id_on_a_160_bit_ring() -> None:
    assert codec().encode_id(0) == b"\x00" * 20
    assert codec().encode_id(TOP) == b"\xff" * 20
    assert codec().decode_id(b"\x00", "id") == 0  # short forms are accepted too


@given(peers)
def test_peers_round_trip(peer: PeerRef) -> None:
    assert codec().decode_peer(through_wire(codec().encode_peer(peer)), "peer") == peer


@LIST_EXAMPLES
@given(peers, st.one_of(st.none(), peers), st.lists(peers, max_size=16).map(tuple), st.booleans())
def test_node_info_round_trips(
    me: PeerRef, pred: PeerRef | None, succs: tuple[PeerRef, ...], leaving: bool
) -> None:
    info = NodeInfo(me, pred, succs, leaving)
    assert codec().decode_node_info(through_wire(codec().encode_node_info(info))) == info


@LIST_EXAMPLES
@given(st.booleans(), st.lists(peers, min_size=1, max_size=8).map(tuple))
def test_next_hops_round_trip(done: bool, hop_peers: tuple[PeerRef, ...]) -> None:
    hop = NextHop(done, hop_peers)
    assert codec().decode_next_hop(through_wire(codec().encode_next_hop(hop))) == hop


@given(ids_160, st.frozensets(ids_160, max_size=10))
def test_step_requests_round_trip(key: int, exclude: frozenset[int]) -> None:
    msg = codec().encode_step_request(key, exclude)
    assert codec().decode_step_request(msg) == (key, exclude)


@LIST_EXAMPLES
@given(peers, st.one_of(st.none(), peers), st.lists(peers, max_size=4).map(tuple))
def test_leave_notices_and_rectify_round_trip(
    leaving: PeerRef, pred: PeerRef | None, succs: tuple[PeerRef, ...]
) -> None:
    c = codec()
    assert c.decode_leave_notice(c.encode_leave_notice(leaving, pred, succs)) == (
        leaving,
        pred,
        succs,
    )
    assert c.decode_rectify(c.encode_rectify(leaving)) == leaving
    assert c.decode_ping_response(c.encode_ping_response(leaving.id)) == leaving.id


@pytest.mark.parametrize(
    ("data", "space", "message"),
    [
        (b"", FULL, "empty id"),
        (b"\x01" * (MAX_ID_BYTES + 1), FULL, "21 bytes"),
        (b"\x01\x00", IdSpace(8), "outside the 8-bit ring"),
    ],
)
def test_bad_ids_raise_the_codecs_error(data: bytes, space: IdSpace, message: str) -> None:
    with pytest.raises(PeerProtocolError, match=message):
        codec(space).decode_id(data, "id")
    with pytest.raises(InvalidInput, match=message):
        WireCodec(space, InvalidInput).decode_id(data, "id")


@pytest.mark.parametrize(
    ("msg", "message"),
    [
        (pb.Peer(id=b"\x01"), r"peer\.grpc_address: empty"),
        (pb.Peer(id=b"", grpc_address="a:1"), r"peer\.id: empty id"),
        (pb.Peer(id=b"\x01", grpc_address="a" * (MAX_ADDRESS_CHARS + 1)), "longer than"),
        (pb.Peer(id=b"\x01", grpc_address="a:1", http_url="h" * 5000), "longer than"),
    ],
)
def test_bad_peers_are_rejected(msg: pb.Peer, message: str) -> None:
    with pytest.raises(PeerProtocolError, match=message):
        codec().decode_peer(msg, "peer")


def test_missing_required_parts_are_rejected() -> None:
    with pytest.raises(PeerProtocolError, match="peer: missing"):
        codec().decode_node_info(pb.GetNodeInfoResponse())
    with pytest.raises(PeerProtocolError, match="peers: empty"):
        codec().decode_next_hop(pb.FindSuccessorStepResponse(done=True))
    ok = codec().encode_peer(PeerRef(1, "a:1"))
    bad_second = pb.GetNodeInfoResponse(peer=ok, successors=[ok, pb.Peer(grpc_address="b:1")])
    with pytest.raises(PeerProtocolError, match=r"successors\[1\]\.id"):
        codec().decode_node_info(bad_second)
    with pytest.raises(PeerProtocolError, match=r"exclude\[0\]"):
        codec().decode_step_request(pb.FindSuccessorStepRequest(key=b"\x01", exclude=[b""]))


def test_encoding_an_id_outside_the_ring_is_a_bug() -> None:
    with pytest.raises(ValueError, match="outside"):
        codec(IdSpace(8)).encode_id(256)
