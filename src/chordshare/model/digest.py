"""The content hash: BLAKE3, the one definition of how pieces and files are hashed.

Every piece of a file is hashed with BLAKE3 (32-byte output), and a file's identity, its
content hash, is the BLAKE3 of its piece digests concatenated (:func:`content_hash` in
``model.manifest``). Receivers verify every byte they get, so this hash bounds how fast a
download can go; BLAKE3 replaced SHA-256 for that reason. Where the choice was measured, over
512 MiB in memory hashed in 1 MiB pieces, BLAKE3 ran at ~7 GB/s against hashlib SHA-256's
~1.9 GB/s, and a raw TCP receiver that hashed what it received kept 0.90 of raw TCP's speed
with BLAKE3 against 0.54 with SHA-256. The gain depends on the CPU: BLAKE3 is bound by SIMD
width, SHA-256 by the SHA extensions (SHA-NI). On the project's 2-CPU AMD EPYC VM (Zen 1 at
2 GHz: AVX2 split into 128-bit halves, SHA-NI present) ``bench/content_hash.py`` measured
BLAKE3 at 0.84-1.47 GB/s against SHA-256's 1.05-1.19 (BLAKE3 / SHA-256 0.80-1.33 over six runs
at load 1.8-2.9, median 1.15), and the raw TCP receiver (``bench/transfer.py``'s, hashing with
each) kept 0.36 of raw TCP with BLAKE3 against 0.31 with SHA-256.

One thread per piece: pieces are 1 MiB (at most 16 MiB), and blake3's own ``max_threads`` did
not pay on 1 MiB pieces on that VM: ``max_threads=2`` (a new thread pool per hasher) ran at
0.7-0.96 of one thread's speed, ``AUTO`` (a shared pool) at 0.9-1.4, no consistent gain on two
busy CPUs. Parallelism comes from hashing several pieces at once instead, as downloads do.
blake3 releases the GIL while it hashes any input of 2 KiB or more (the same threshold as
hashlib's), so hashing on worker threads runs beside the event loop. Digests are 32 bytes, as
SHA-256's were, so every size on the wire stays as it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from blake3 import blake3

if TYPE_CHECKING:  # manifest imports this module: a runtime import would be circular
    from chordshare.model.manifest import Buffer

NAME = "BLAKE3"
"""The hash's name, for messages and documentation."""

DIGEST_SIZE = 32
"""Bytes in one digest (BLAKE3's default output length)."""


class Hasher(Protocol):
    """An incremental hasher: feed it with ``update``, then read ``digest``."""

    def update(self, data: Buffer, /) -> object: ...

    def digest(self) -> bytes: ...


def new_hasher() -> Hasher:
    """A fresh incremental BLAKE3 hasher (single-threaded)."""
    return blake3()


def digest(data: Buffer) -> bytes:
    """The BLAKE3 digest of ``data`` (DIGEST_SIZE bytes)."""
    return blake3(data).digest()
