"""The hand-written chunk codec speaks exactly the protobuf of ``transfer.proto``."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chordshare.model.manifest import MIN_PIECE_SIZE, FileManifest
from chordshare.transport.grpc.generated import transfer_pb2 as pb
from chordshare.transport.grpc.transfer.codec import (
    Malformed,
    decode_chunk,
    decode_upload_request,
    encode_chunk,
    encode_upload_request,
)
from chordshare.transport.ports.transfer import Chunk, UploadHeader

U32 = st.integers(0, 2**32 - 1)
DATA = st.binary(max_size=300)


@given(U32, U32, DATA)
def test_encoding_is_byte_identical_to_protobuf(piece: int, offset: int, data: bytes) -> None:
    assert (
        encode_chunk(Chunk(piece, offset, data))
        == pb.Chunk(piece=piece, offset=offset, data=data).SerializeToString()
    )
    wrapped = pb.UploadRequest(chunk=pb.Chunk(piece=piece, offset=offset, data=data))
    assert encode_upload_request(Chunk(piece, offset, memoryview(data))) == (
        wrapped.SerializeToString()
    )


@given(U32, U32, DATA, st.binary(max_size=20))
def test_decoding_accepts_any_protobuf_encoding(
    piece: int, offset: int, data: bytes, unknown: bytes
) -> None:
    message = pb.Chunk(piece=piece, offset=offset, data=data).SerializeToString()
    # fields reordered, an unknown length-delimited field 9 and a repeated (last wins) piece
    extra = b"\x4a" + bytes([len(unknown)]) + unknown
    reordered = pb.Chunk(data=data).SerializeToString() + extra + b"\x08\x07" + message
    for wire in (message, reordered):
        chunk = decode_chunk(wire)
        oracle = pb.Chunk.FromString(wire)
        assert isinstance(chunk, Chunk)
        assert (chunk.piece, chunk.offset, bytes(chunk.data)) == (
            oracle.piece,
            oracle.offset,
            oracle.data,
        )
    assert decode_chunk(message) == Chunk(piece, offset, memoryview(data))


@given(st.binary(max_size=64))
def test_garbage_never_raises(garbage: bytes) -> None:
    chunk = decode_chunk(garbage)
    assert isinstance(chunk, Chunk | Malformed)
    item = decode_upload_request(garbage)
    assert isinstance(item, Chunk | FileManifest | Malformed)


def test_header_round_trip_and_invalid_headers() -> None:
    manifest = FileManifest("n", 5, MIN_PIECE_SIZE, (b"\x01" * 32,))
    for keys in ((), (b"\x02" * 32, b"\x03" * 32)):
        header = UploadHeader(manifest, keys)
        assert decode_upload_request(encode_upload_request(header)) == header
    bad = pb.UploadRequest(header=pb.UploadHeader(name="n", size=5, piece_size=MIN_PIECE_SIZE))
    result = decode_upload_request(bad.SerializeToString())
    assert isinstance(result, Malformed)
    assert "piece hash count" in result.reason
    assert isinstance(decode_chunk(b"\x08" + b"\xff" * 11), Malformed)  # overlong varint
    assert isinstance(decode_chunk(b"\x08\x80\x80\x80\x80\x10"), Malformed)  # piece > uint32
    assert isinstance(decode_chunk(b"\x1a\x05abc"), Malformed)  # truncated data
