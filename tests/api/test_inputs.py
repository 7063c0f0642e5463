"""Validation of keys and raw ids (pure functions, checked with hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chordshare.api.inputs import MAX_KEY_BYTES, hex_width, key_bytes, parse_ring_id
from chordshare.errors import InvalidInput
from chordshare.ring import IdSpace

SPACES = st.integers(min_value=1, max_value=160).map(IdSpace)


@given(space=SPACES, data=st.data())
def test_every_id_round_trips_through_hex(space: IdSpace, data: st.DataObject) -> None:
    ident = data.draw(st.integers(min_value=0, max_value=space.size - 1))
    text = space.hex(ident)
    assert len(text) == hex_width(space)
    assert parse_ring_id(space, text) == ident
    assert parse_ring_id(space, text.upper()) == ident
    assert parse_ring_id(space, format(ident, "x")) == ident


@given(space=SPACES, text=st.text(max_size=60))
def test_any_text_is_an_id_or_invalid_input(space: IdSpace, text: str) -> None:
    try:
        ident = parse_ring_id(space, text)
    except InvalidInput:
        return
    assert 0 <= ident < space.size
    assert int(text, 16) == ident


@given(space=SPACES)
def test_first_id_outside_the_ring_is_rejected(space: IdSpace) -> None:
    text = format(space.size, "x")
    with pytest.raises(InvalidInput, match=r"outside|digits"):
        parse_ring_id(space, text)


@given(key=st.text(min_size=1, max_size=300))
def test_keys_up_to_the_limit_are_their_utf8_bytes(key: str) -> None:
    data = key.encode("utf-8")
    if len(data) <= MAX_KEY_BYTES:
        assert key_bytes(key) == data
    else:
        with pytest.raises(InvalidInput):
            key_bytes(key)


def test_key_edge_cases() -> None:
    assert key_bytes("k" * MAX_KEY_BYTES) == b"k" * MAX_KEY_BYTES
    with pytest.raises(InvalidInput, match="at most"):
        key_bytes("k" * (MAX_KEY_BYTES + 1))
    with pytest.raises(InvalidInput, match="empty"):
        key_bytes("")
    with pytest.raises(InvalidInput, match="Unicode"):
        key_bytes("\ud800")
