"""Validation of the values people send: keys and raw ring ids.

Each check raises :class:`chordshare.errors.InvalidInput` with a message that says what was
wrong, so the error handlers answer 400 with that message (never a 500 or a traceback).
"""

from __future__ import annotations

import re

from chordshare.errors import InvalidInput
from chordshare.ring import IdSpace

MAX_KEY_BYTES = 1024
"""Longest key accepted, in UTF-8 bytes. Keys are file names (at most 255 bytes on common
filesystems) or names combined with a 64-digit content hash; 1 KiB leaves room for both, and even
fully percent-encoded (3 KiB) the request line stays well under the 8 KiB limit of common HTTP
servers and proxies."""

_HEX_DIGITS = re.compile(r"[0-9a-fA-F]+")


def key_bytes(key: str) -> bytes:
    """The UTF-8 bytes of a key that may be looked up (non-empty, at most MAX_KEY_BYTES)."""
    if not key:
        raise InvalidInput("key must not be empty")
    try:
        data = key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(f"key is not valid Unicode text: {exc.reason}") from exc
    if len(data) > MAX_KEY_BYTES:
        raise InvalidInput(f"key is {len(data)} bytes of UTF-8; at most {MAX_KEY_BYTES} allowed")
    return data


def hex_width(space: IdSpace) -> int:
    """Hex digits of a full-width id of ``space`` (what ``IdSpace.hex`` produces)."""
    return (space.bits + 3) // 4


def parse_ring_id(space: IdSpace, text: str) -> int:
    """A ring id given as hex digits (either case, leading zeros allowed, no ``0x``, sign,
    underscores or spaces, which ``int(text, 16)`` would let through), inside ``[0, 2**m)``."""
    width = hex_width(space)
    if not _HEX_DIGITS.fullmatch(text):
        raise InvalidInput(f"id must be hex digits (0-9, a-f), got {text[:80]!r}")
    if len(text) > width:
        raise InvalidInput(
            f"id has {len(text)} hex digits; this {space.bits}-bit ring uses {width}"
        )
    value = int(text, 16)
    if value >= space.size:
        raise InvalidInput(f"id {text} is outside the {space.bits}-bit ring [0, 2**{space.bits})")
    return value
