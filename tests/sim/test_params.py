"""List flags: plain lists and the ellipsis form of the issue (``8,16,...,16384``)."""

from __future__ import annotations

import pytest

from chordshare.sim.params import parse_floats, parse_ints
from chordshare.sim.stats import percentile


def test_doubling_and_stepping() -> None:
    assert parse_ints("8,16,...,16384") == [2**k for k in range(3, 15)]
    assert parse_ints("10,20,...,50") == [10, 20, 30, 40, 50]
    assert parse_ints("1, 2,3") == [1, 2, 3]
    assert parse_floats("0.1,0.2,...,0.5") == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert parse_floats("0.05,0.1,0.2") == [0.05, 0.1, 0.2]
    assert parse_ints("4,8,12,...,20") == [4, 8, 12, 16, 20]


@pytest.mark.parametrize("text", ["", "8,...", "...,8", "1,1,...,5", "1,2,...,3.5", "8,4,...,16"])
def test_bad_lists(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - every message is a user-facing one
        parse_floats(text) if "." in text.replace("...", "") else parse_ints(text)


def test_runaway_ellipsis_is_refused() -> None:
    with pytest.raises(ValueError, match="at most"):
        parse_ints("1,2,...,100000")


def test_nearest_rank_percentile() -> None:
    values = list(range(1, 101))
    assert percentile(values, 1) == 1
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7], 1) == 7
