"""Ring ids in the record store: how an id is stored (a fixed-width big-endian blob, so that
SQLite's byte order is the ring's order) and how an arc of the ring becomes SQL conditions."""

from __future__ import annotations

from chordshare.ring.ids import MAX_BITS

ID_BYTES = (MAX_BITS + 7) // 8
"""Bytes of a stored id: wide enough for the widest ring."""


def id_blob(ident: int) -> bytes:
    return ident.to_bytes(ID_BYTES, "big")


def blob_id(data: bytes) -> int:
    return int.from_bytes(data, "big")


def arc_segments(start: int, end: int) -> list[tuple[int | None, int | None]]:
    """The arc ``(start, end]`` as linear ``(lower exclusive, upper inclusive)`` pieces in ring
    order from ``start``; ``None`` is an open end. ``(a, a]`` is the whole ring: ``(a, top]``
    then ``[0, a]``."""
    if start < end:
        return [(start, end)]
    return [(start, None), (None, end)]


def arc_clauses(low: int | None, high: int | None, params: dict[str, object]) -> list[str]:
    """SQL conditions for one linear segment ``(low, high]`` of key ids (``None``: open)."""
    clauses = []
    if low is not None:
        clauses.append("r.key_id > :low")
        params["low"] = id_blob(low)
    if high is not None:
        clauses.append("r.key_id <= :high")
        params["high"] = id_blob(high)
    return clauses
