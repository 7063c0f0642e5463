"""The one interval helper of the ring: wrap-around aware, with explicit ends.

Chord reasons about arcs of the circle, ``(a, b]`` going clockwise from ``a`` to ``b``. Two edge
cases trip most implementations:

* wrap-around: ``(a, b]`` with ``b < a`` passes through 0;
* equal ends: ``(a, a]`` and ``[a, a)`` are the whole ring (a one-node ring owns every key),
  ``(a, a)`` is the whole ring except ``a``, ``[a, a]`` is the whole ring.
"""

from __future__ import annotations


def in_interval(
    x: int,
    start: int,
    end: int,
    size: int,
    *,
    closed_start: bool = False,
    closed_end: bool = False,
) -> bool:
    """Whether ``x`` is on the clockwise arc from ``start`` to ``end`` of a ring of ``size`` ids."""
    if x == start:
        # x sits on the left end: inside if that end is closed, or if the arc is the full circle
        # ending at x again, closed on the right.
        return closed_start or (start == end and closed_end)
    if x == end:
        return closed_end
    span = (end - start) % size or size
    return 0 < (x - start) % size < span


def in_open(x: int, start: int, end: int, size: int) -> bool:
    """``x`` in ``(start, end)``."""
    return in_interval(x, start, end, size)


def in_half_open(x: int, start: int, end: int, size: int) -> bool:
    """``x`` in ``(start, end]``: the arc a successor owns."""
    return in_interval(x, start, end, size, closed_end=True)
