"""The interval helper against a brute-force walk around small rings."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chordshare.ring import in_half_open, in_interval, in_open

BITS = 5
SIZE = 1 << BITS
ids = st.integers(min_value=0, max_value=SIZE - 1)


def walk(start: int, end: int, closed_start: bool, closed_end: bool) -> set[int]:
    """Ids met walking clockwise from start to end; equal ends go once around the whole ring."""
    members: set[int] = set()
    steps = (end - start) % SIZE or SIZE
    for k in range(steps + 1):
        x = (start + k) % SIZE
        if k == 0:
            if closed_start:
                members.add(x)
        elif k == steps:
            if closed_end:
                members.add(x)
        else:
            members.add(x)
    return members


@given(ids, ids, ids, st.booleans(), st.booleans())
def test_interval_matches_walk(x: int, start: int, end: int, cs: bool, ce: bool) -> None:
    expected = x in walk(start, end, cs, ce)
    assert in_interval(x, start, end, SIZE, closed_start=cs, closed_end=ce) is expected


@given(ids, ids)
def test_equal_ends(x: int, a: int) -> None:
    # (a, a] is the whole ring: a one-node ring owns every key, id 0 included.
    assert in_half_open(x, a, a, SIZE)
    # (a, a) is everything but a.
    assert in_open(x, a, a, SIZE) is (x != a)


def test_wrap_around_and_zero() -> None:
    assert in_half_open(0, SIZE - 3, 2, SIZE)
    assert in_half_open(1, SIZE - 3, 2, SIZE)
    assert not in_half_open(SIZE - 3, SIZE - 3, 2, SIZE)
    assert in_half_open(2, SIZE - 3, 2, SIZE)
    assert not in_open(2, SIZE - 3, 2, SIZE)
    assert not in_half_open(5, SIZE - 3, 2, SIZE)
    # id 0 is an ordinary id, never "no node"
    assert in_open(0, SIZE - 1, 1, SIZE)
