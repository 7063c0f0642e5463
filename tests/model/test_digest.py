"""The content hash is BLAKE3: the digest module against the official BLAKE3 test vectors, and
every hashing path of the store (whole pieces, streamed pieces, received chunks, the content
hash) against blake3 itself as an independent oracle."""

from __future__ import annotations

import pytest
from blake3 import blake3
from hypothesis import given
from hypothesis import strategies as st

from chordshare.errors import IntegrityError
from chordshare.model.digest import DIGEST_SIZE, NAME, digest, new_hasher
from chordshare.model.manifest import MIN_PIECE_SIZE, content_hash
from chordshare.storage.files.pieces import PieceHasher, PieceReceiver, piece_digest, verify_piece

VECTORS = {
    0: "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
    1: "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213",
    1023: "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11",
    1025: "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444",
    2049: "5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030",
}
"""BLAKE3 (default 32-byte output) of inputs of these lengths filled with 0, 1, ..., 250, 0, 1,
..., as in the BLAKE3 reference test vectors (test_vectors.json of the BLAKE3 repository)."""


def vector_input(length: int) -> bytes:
    return bytes(i % 251 for i in range(length))


@pytest.mark.parametrize("length", sorted(VECTORS))
def test_digest_matches_the_reference_vectors(length: int) -> None:
    data = vector_input(length)
    assert digest(data).hex() == VECTORS[length]
    assert digest(memoryview(bytearray(data))).hex() == VECTORS[length]


@pytest.mark.parametrize("length", sorted(VECTORS))
def test_incremental_hasher_matches_the_reference_vectors(length: int) -> None:
    data = vector_input(length)
    hasher = new_hasher()
    for start in range(0, length, 100):
        hasher.update(data[start : start + 100])
    assert hasher.digest().hex() == VECTORS[length]


def test_abc_and_the_name() -> None:
    assert digest(b"abc").hex() == (
        "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
    )
    assert len(digest(b"")) == DIGEST_SIZE == 32
    assert NAME == "BLAKE3"


def test_new_hashers_are_independent() -> None:
    first, second = new_hasher(), new_hasher()
    first.update(b"a")
    assert second.digest() == digest(b"")


@given(st.binary(max_size=3 * MIN_PIECE_SIZE + 5))
def test_store_paths_hash_with_blake3(content: bytes) -> None:
    """Pieces, streamed pieces and the content hash, each against blake3 directly."""
    pieces = [content[i : i + MIN_PIECE_SIZE] for i in range(0, len(content), MIN_PIECE_SIZE)]
    expected = [blake3(p).digest() for p in pieces]
    assert [piece_digest(p) for p in pieces] == expected
    hasher = PieceHasher(MIN_PIECE_SIZE)
    hasher.update(content)
    manifest = hasher.manifest("f")
    assert list(manifest.piece_hashes) == expected
    assert manifest.content_hash == blake3(b"".join(expected)).digest()
    assert content_hash(expected) == manifest.content_hash


def test_receiver_and_verify_piece_check_blake3() -> None:
    content = vector_input(2 * MIN_PIECE_SIZE)
    hasher = PieceHasher(MIN_PIECE_SIZE)
    hasher.update(content)
    manifest = hasher.manifest("f")
    receiver = PieceReceiver(manifest)
    assert receiver.feed(0, 0, content[:MIN_PIECE_SIZE])
    tampered = bytearray(content[MIN_PIECE_SIZE:])
    tampered[-1] ^= 1
    with pytest.raises(IntegrityError, match="piece 1 does not match its BLAKE3"):
        receiver.feed(1, 0, bytes(tampered))
    with pytest.raises(IntegrityError, match="BLAKE3"):
        verify_piece(manifest, 1, bytes(tampered))
    verify_piece(manifest, 1, content[MIN_PIECE_SIZE:])
