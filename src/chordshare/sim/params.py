"""Parsing of the simulator's list flags: ``8,16,32`` or with an ellipsis, ``8,16,...,16384``.

``a,b,...,z`` continues the step the first two items set: doubling when ``b/a`` is a whole ratio
that reaches ``z`` exactly (``8,16,...,16384`` is the paper's powers of two), otherwise adding
``b - a`` (``0.1,0.2,...,0.5``) up to ``z``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

Number = TypeVar("Number", int, float)

MAX_ITEMS = 1_000
"""Longest list an ellipsis may expand to: a guard against a typo such as ``1,2,...,10000000``."""

_DECIMALS = 10
"""Decimal places kept when adding a float step (0.1 + 0.2 is 0.30000000000000004)."""


def _expand(first: Number, second: Number, last: Number) -> list[Number]:
    if second == first:
        raise ValueError("the two items before '...' must differ")
    ratio = second / first if first else 0
    if ratio > 1 and ratio == int(ratio):
        out = [first]
        while out[-1] < last and len(out) <= MAX_ITEMS:
            out.append(type(first)(out[-1] * int(ratio)))
        if out[-1] == last:
            return out
    step = second - first
    if (last - first) / step < 0:
        raise ValueError("the list after '...' runs away from its last item")
    count = int(round((last - first) / step, _DECIMALS)) + 1
    if count > MAX_ITEMS:
        raise ValueError(f"'...' would expand to {count} items (at most {MAX_ITEMS})")
    items = [type(first)(round(first + i * step, _DECIMALS)) for i in range(count)]
    if items[-1] != last:
        raise ValueError(f"'...' steps by {step} from {first} and does not reach {last}")
    return items


def parse_list(text: str, convert: Callable[[str], Number]) -> list[Number]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise ValueError("empty list")
    if "..." not in parts:
        return [convert(p) for p in parts]
    at = parts.index("...")
    if at < 2 or at != len(parts) - 2 or parts.count("...") != 1:
        raise ValueError("write an ellipsis as 'a,b,...,z'")
    head = [convert(p) for p in parts[:at]]
    tail = _expand(head[-2], head[-1], convert(parts[-1]))
    return head[:-2] + tail


def parse_ints(text: str) -> list[int]:
    return parse_list(text, int)


def parse_floats(text: str) -> list[float]:
    return parse_list(text, float)
