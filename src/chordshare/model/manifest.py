"""Domain types of file sharing (DESIGN.md §5): manifests, providers and DHT records.

A file is a list of fixed-size pieces, each with its BLAKE3 digest (``model.digest``); the file's
identity (content hash) is the BLAKE3 over the concatenated piece digests, so a receiver can
verify any piece alone.
A :class:`FileRecord` lives in the DHT under the ring id of the file's *name*; it carries the
manifest and the providers that hold the bytes, each with an expiry that providers refresh.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from chordshare.model.digest import DIGEST_SIZE as DIGEST_SIZE
from chordshare.model.digest import NAME as HASH_NAME
from chordshare.model.digest import new_hasher

Buffer = bytes | bytearray | memoryview
"""What pieces are made of (``collections.abc.Buffer`` needs Python 3.12)."""

DEFAULT_PIECE_SIZE = 1 << 20
"""1 MiB: large enough that per-piece overhead (a 32-byte hash, one gRPC message) is negligible
and that a 1 GiB file has a 32 KiB hash list; small enough to spread a file over many providers
and to re-fetch a bad piece cheaply. (IPFS uses 256 KiB blocks, BitTorrent 256 KiB-4 MiB.)"""

MIN_PIECE_SIZE = 16 << 10
MAX_PIECE_SIZE = 16 << 20
"""Bounds on piece size: below 16 KiB the hash list outweighs the data's framing savings; above
16 MiB a single piece no longer fits comfortably in one bounded gRPC message budget."""


def content_hash(piece_hashes: Iterable[bytes]) -> bytes:
    """BLAKE3 over the concatenated piece digests: the file's identity."""
    h = new_hasher()
    for digest in piece_hashes:
        h.update(digest)
    return h.digest()


def piece_count(size: int, piece_size: int) -> int:
    return (size + piece_size - 1) // piece_size


@dataclass(frozen=True, slots=True)
class FileManifest:
    """What a file is: name, size and piece hashes. Validated on construction."""

    name: str
    size: int
    piece_size: int
    piece_hashes: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ValueError("size must be non-negative")
        if not MIN_PIECE_SIZE <= self.piece_size <= MAX_PIECE_SIZE:
            raise ValueError(f"piece size must be in {MIN_PIECE_SIZE}..{MAX_PIECE_SIZE} bytes")
        if len(self.piece_hashes) != piece_count(self.size, self.piece_size):
            raise ValueError("piece hash count does not match size and piece size")
        if any(len(d) != DIGEST_SIZE for d in self.piece_hashes):
            raise ValueError(f"piece hashes must be {DIGEST_SIZE}-byte {HASH_NAME} digests")

    @property
    def content_hash(self) -> bytes:
        return content_hash(self.piece_hashes)

    @property
    def pieces(self) -> int:
        return len(self.piece_hashes)

    def piece_length(self, index: int) -> int:
        """Length of piece ``index`` (the last piece may be short)."""
        if not 0 <= index < self.pieces:
            raise IndexError(f"piece {index} out of range 0..{self.pieces - 1}")
        return min(self.piece_size, self.size - index * self.piece_size)


@dataclass(frozen=True, slots=True)
class Provider:
    """A node that serves a file's bytes, until ``expires_at`` (seconds on the wall clock,
    because expiries cross machines and restarts)."""

    node_id: int
    grpc_address: str
    uri: str
    """REST URI of the file on that node (``http://host:port/api/v1/files/<name>``)."""
    expires_at: float
    pinned: bool = False
    """The node keeps the bytes as one of the k replicas of an upload (the key's owner keeps
    k pinned holders); False for a node that shares the file from its shared directory or
    holds a cached copy."""
    withdrawn: bool = False
    """A tombstone: the node stopped providing the file (removed it, or left). It wins over
    the node's older announcements by the usual latest-expiry rule, is never offered to a
    reader, and lapses at ``expires_at`` like any entry (by then every older announcement it
    overrides has lapsed too)."""

    @property
    def offered(self) -> bool:
        """Whether readers may be sent to this provider (not a tombstone)."""
        return not self.withdrawn

    def tombstone(self, now: float, ttl: float) -> Provider:
        """The entry that withdraws this one: it must outlast it (latest expiry wins, so a hair
        later than an entry made at the same instant), and lapses after one TTL like any."""
        expires = max(now + ttl, math.nextafter(self.expires_at, math.inf))
        return replace(self, expires_at=expires, withdrawn=True)


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A DHT record: the manifest under the ring id of its name, and its providers.

    With ``word`` set it is a *word entry* (:mod:`chordshare.model.words`): the same manifest
    and providers filed under the ring id of one word of the name, so that a search for the
    word finds the name. Word entries are stored, replicated, repaired, handed on and expired
    exactly like name records; their providers are never pinned (the bytes are kept by the
    name record's pinned holders, so byte repair acts on name records only)."""

    manifest: FileManifest
    providers: tuple[Provider, ...]
    word: str = ""

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def key_text(self) -> str:
        """What the record's ring key is the hash of: the word of a word entry, else the name."""
        return self.word or self.manifest.name

    def merged(self, other: FileRecord) -> FileRecord:
        """Union of providers (latest expiry per node wins). A record for different content under
        the same name replaces this one only if it is newer, decided by the caller."""
        by_node: dict[int, Provider] = {p.node_id: p for p in self.providers}
        for p in other.providers:
            cur = by_node.get(p.node_id)
            if cur is None or p.expires_at > cur.expires_at:
                by_node[p.node_id] = p
        return replace(self, providers=tuple(sorted(by_node.values(), key=lambda p: p.node_id)))

    def live(self, now: float) -> FileRecord:
        """The record as readers see it: without expired providers and without tombstones."""
        return replace(
            self,
            providers=tuple(p for p in self.providers if p.expires_at > now and p.offered),
        )
