"""The records codec: domain -> protobuf -> domain is the identity; what breaks the contract is
refused with the codec's error (InvalidInput/InvalidName on a server, PeerProtocolError on a
client)."""

from __future__ import annotations

import pytest

from chordshare.errors import InvalidInput, InvalidName, PeerProtocolError
from chordshare.model.manifest import FileRecord, Provider
from chordshare.model.records import MAX_PIECES_PER_RECORD, RecordKey, RecordPage
from chordshare.ring import IdSpace
from chordshare.transport.grpc.generated import records_pb2 as pb
from chordshare.transport.grpc.records.codec import RecordCodec
from chordshare.transport.ports.records import MAX_RECORDS_PER_CALL
from tests.records.factory import provider, record

SPACE = IdSpace(160)
SERVER = RecordCodec(SPACE, InvalidInput)
CLIENT = RecordCodec(SPACE, PeerProtocolError)


def edge_record() -> FileRecord:
    """Id 0 and the top id as providers, a pinned one and a tombstone, an empty file (no
    pieces), a non-ASCII name."""
    return record(
        "résumé 2024 (final).pdf",
        Provider(0, "127.0.0.1:1", "", 1.5),
        Provider(SPACE.size - 1, "[::1]:2", "http://[::1]:3/x", 2e9, pinned=True),
        Provider(5, "127.0.0.1:5", "", 3.0, withdrawn=True),
        pieces=0,
    )


@pytest.mark.parametrize(
    "rec",
    [edge_record(), record("big.iso", provider(7, 100.0), pieces=300)],
)
def test_record_round_trip(rec: FileRecord) -> None:
    wire = pb.FileRecord.FromString(CLIENT.encode_record(rec).SerializeToString())
    assert SERVER.decode_record(wire, "r") == rec


def test_requests_round_trip() -> None:
    recs = [edge_record(), record("a", provider(1, 5.0))]
    assert SERVER.decode_store(CLIENT.encode_store(recs, True)) == (recs, True)
    key = RecordKey.of(recs[1])
    assert SERVER.decode_range(CLIENT.encode_range(0, SPACE.size - 1, key)) == (
        0,
        SPACE.size - 1,
        key,
    )
    assert SERVER.decode_range(CLIENT.encode_range(5, 5, None)) == (5, 5, None)
    page = RecordPage(tuple(recs), True)
    assert CLIENT.decode_page(SERVER.encode_page(page)) == page
    assert SERVER.decode_digest_request(CLIENT.encode_digest_request(0, 0)) == (0, 0)


def mutated(**changes: object) -> pb.FileRecord:
    msg = CLIENT.encode_record(record("ok.txt", provider(1, 5.0), pieces=2))
    for name, value in changes.items():
        if name == "providers":
            del msg.providers[:]
            msg.providers.extend(value)  # type: ignore[arg-type]
        else:
            setattr(msg, name, value)
    return msg


@pytest.mark.parametrize(
    ("msg", "reason"),
    [
        (mutated(piece_hashes=b"\x00" * 33), "whole digests"),
        (mutated(content_hash=b"\x00" * 31), "not 32"),
        (mutated(content_hash=b"\x00" * 32), "not the BLAKE3"),
        (mutated(size=0), "piece hash count"),
        (mutated(piece_size=1000), "piece size"),
        (mutated(providers=[]), "at least one provider"),
        (mutated(providers=[pb.Provider(node_id=b"", grpc_address="a:1")]), "empty id"),
        (mutated(providers=[pb.Provider(node_id=b"\x01" * 21, grpc_address="a:1")]), "20"),
        (mutated(providers=[pb.Provider(node_id=b"\x01", grpc_address="")]), "grpc_address"),
        (
            mutated(providers=[pb.Provider(node_id=b"\x01", grpc_address="a:1")] * 2),
            "listed twice",
        ),
        (
            mutated(providers=[pb.Provider(node_id=b"\x01", grpc_address="a:1", expires_at=1e400)]),
            "finite",
        ),
    ],
)
def test_bad_records_are_refused(msg: pb.FileRecord, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        SERVER.decode_record(msg, "r")
    with pytest.raises(PeerProtocolError, match=reason):
        CLIENT.decode_record(msg, "r")


@pytest.mark.parametrize("name", ["", "..", "a/b", "a\\b", "x\x00y", "tab\there", "é" * 200])
def test_bad_names_are_invalid_names(name: str) -> None:
    with pytest.raises(InvalidName):
        SERVER.decode_record(mutated(name=name), "r")
    with pytest.raises(InvalidName):
        SERVER.decode_get_request(pb.GetRecordsRequest(name=name))
    with pytest.raises(PeerProtocolError):
        CLIENT.decode_record(mutated(name=name), "r")


def test_too_many_pieces_or_records() -> None:
    digest_run = b"\x00" * 32 * (MAX_PIECES_PER_RECORD + 1)
    with pytest.raises(InvalidInput, match="pieces"):
        SERVER.decode_record(mutated(piece_hashes=digest_run), "r")
    many = [mutated()] * (MAX_RECORDS_PER_CALL + 1)
    with pytest.raises(InvalidInput, match="at most"):
        SERVER.decode_store(pb.StoreRecordsRequest(records=many))


def test_replies_that_break_the_contract() -> None:
    other = CLIENT.encode_record(record("other.txt", provider(1, 5.0)))
    with pytest.raises(PeerProtocolError, match="asked for"):
        CLIENT.decode_get_response(pb.GetRecordsResponse(records=[other]), "mine.txt")
    with pytest.raises(PeerProtocolError, match="empty page"):
        CLIENT.decode_page(pb.FetchRangeResponse(more=True))
    with pytest.raises(PeerProtocolError, match="not 32"):
        CLIENT.decode_digest(pb.RangeDigestResponse(digest=b"\x00"))
    with pytest.raises(PeerProtocolError, match="sorted"):
        CLIENT.decode_names(pb.ListNamesResponse(names=["b", "a"]), "", 10)
    with pytest.raises(PeerProtocolError, match="sorted"):
        CLIENT.decode_names(pb.ListNamesResponse(names=["a"]), "a", 10)
    with pytest.raises(PeerProtocolError, match="at most"):
        CLIENT.decode_names(pb.ListNamesResponse(names=["a", "b"]), "", 1)
    assert CLIENT.decode_names(pb.ListNamesResponse(names=["b", "c"]), "a", 2) == ["b", "c"]


def test_list_request_bounds() -> None:
    assert SERVER.decode_list_request(pb.ListNamesRequest(after="", limit=1)) == ("", 1)
    for limit in (0, 1001):
        with pytest.raises(InvalidInput, match="limit"):
            SERVER.decode_list_request(pb.ListNamesRequest(limit=limit))
    with pytest.raises(InvalidName):
        SERVER.decode_list_request(pb.ListNamesRequest(after="../x", limit=3))
