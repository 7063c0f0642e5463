"""Identifier space of an m-bit Chord ring (Stoica et al. 2001, section 4.2).

Node ids and key ids are integers in ``[0, 2**m)``. Keys hash with SHA-1 as in the paper and are
reduced to m bits by taking the hash modulo ``2**m`` (for m = 160 this is the hash itself). The
id 0 is an ordinary id, never "no node": absence is ``None``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

DEFAULT_BITS = 160
"""SHA-1 width, as in the paper; collisions between node ids are then negligible."""

MAX_BITS = 160
"""SHA-1 yields 160 bits; a wider ring would leave ids no hash can reach."""


@dataclass(frozen=True, slots=True)
class IdSpace:
    """The ring ``[0, 2**bits)``; every id computation goes through one of these."""

    bits: int = DEFAULT_BITS

    def __post_init__(self) -> None:
        if not 1 <= self.bits <= MAX_BITS:
            raise ValueError(f"ring bits must be in 1..{MAX_BITS}, got {self.bits}")

    @property
    def size(self) -> int:
        return 1 << self.bits

    def check(self, ident: int) -> int:
        """Return ``ident`` if it is a valid id of this ring, else raise ValueError."""
        if not 0 <= ident < self.size:
            raise ValueError(f"id {ident} is outside the {self.bits}-bit ring")
        return ident

    def hash_key(self, key: str | bytes) -> int:
        """Ring id of a key: SHA-1 of its UTF-8 bytes, reduced to ``bits`` bits."""
        data = key.encode("utf-8") if isinstance(key, str) else key
        return int.from_bytes(hashlib.sha1(data).digest(), "big") % self.size

    def node_id(self, advertised_address: str) -> int:
        """A node's id: the hash of the address other nodes reach it at (host:port)."""
        return self.hash_key(advertised_address)

    def add(self, ident: int, offset: int) -> int:
        return (ident + offset) % self.size

    def distance(self, start: int, end: int) -> int:
        """Clockwise distance from ``start`` to ``end`` (0 when equal)."""
        return (end - start) % self.size

    def finger_start(self, node: int, index: int) -> int:
        """Start of finger ``index`` (0-based): ``node + 2**index`` mod ``2**m``."""
        if not 0 <= index < self.bits:
            raise ValueError(f"finger index must be in 0..{self.bits - 1}, got {index}")
        return (node + (1 << index)) % self.size

    def hex(self, ident: int) -> str:
        """Lowercase hex, zero-padded to the ring's width."""
        return format(ident, "x").zfill((self.bits + 3) // 4)

    def parse_hex(self, text: str) -> int:
        """Inverse of :meth:`hex`; raises ValueError on bad input."""
        try:
            value = int(text, 16)
        except ValueError as exc:
            raise ValueError(f"not a hex ring id: {text!r}") from exc
        return self.check(value)

    def short(self, ident: int) -> str:
        """The first 8 hex digits, for logs."""
        return self.hex(ident)[:8]
