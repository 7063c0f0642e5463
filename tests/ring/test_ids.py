from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chordshare.ring import IdSpace


def test_key_hash_is_sha1_reduced() -> None:
    space = IdSpace(160)
    digest = hashlib.sha1(b"hello").digest()
    assert space.hash_key("hello") == int.from_bytes(digest, "big")
    small = IdSpace(8)
    assert small.hash_key("hello") == int.from_bytes(digest, "big") % 256


@given(st.integers(min_value=1, max_value=160), st.data())
def test_hex_round_trip(bits: int, data: st.DataObject) -> None:
    space = IdSpace(bits)
    ident = data.draw(st.integers(min_value=0, max_value=space.size - 1))
    text = space.hex(ident)
    assert text == text.lower()
    assert len(text) == (bits + 3) // 4
    assert space.parse_hex(text) == ident


@pytest.mark.parametrize("bad", ["", "xyz", "-1", "1" * 60])
def test_parse_hex_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match=r"hex|outside"):
        IdSpace(160).parse_hex(bad)


@pytest.mark.parametrize("bits", [0, 161, -3])
def test_bits_range(bits: int) -> None:
    with pytest.raises(ValueError, match="ring bits"):
        IdSpace(bits)


@given(st.integers(min_value=0, max_value=255), st.integers(min_value=0, max_value=7))
def test_finger_start(node: int, index: int) -> None:
    space = IdSpace(8)
    assert space.finger_start(node, index) == (node + 2**index) % 256
    assert space.distance(node, space.finger_start(node, index)) == 2**index
