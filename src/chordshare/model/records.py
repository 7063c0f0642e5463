"""Values around DHT records: their identity, pages of them, and the limits on their shape.

A record's identity is ``(name, content hash)``: two different files may share a display name,
and each variant is a record of its own under the same ring key (the name's ring id).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from chordshare.errors import InvalidInput, InvalidName
from chordshare.model.limits import MAX_ADDRESS_CHARS, MAX_URL_CHARS
from chordshare.model.manifest import DIGEST_SIZE, FileRecord, Provider
from chordshare.model.names import name_problem, validate_name
from chordshare.model.words import word_problem, words_of

MAX_PIECES_PER_RECORD = 1 << 16
"""65,536 piece hashes (2 MiB of 32-byte digests): 64 GiB at the default 1 MiB pieces, 1 TiB at
16 MiB pieces. The cap keeps any single record inside one bounded page of records
(``chordshare.model.limits.RECORD_PAGE_BYTES``), so every page makes progress."""

MAX_PROVIDERS_PER_RECORD = 64
"""A record keeps the 64 latest-expiring providers. A downloader uses a handful at once; 64 leave
room to pick live, near ones and keep a popular record to ~200 KiB at worst (a provider with the
longest allowed address and URI is ~3 KiB)."""

MAX_RECORDS_PER_PROVIDER = 100_000
"""Records one node may be listed as a live provider of on one holder. A holder keeps its own
key range and k - 1 replicas of its predecessors' (about 3/N of every record), so even a node
sharing 100,000 files on a 3-node ring fits; a node that announces more is flooding (each
record costs its holders up to ~200 KiB), and its further new entries are dropped."""

_RECORD_OVERHEAD = 64
"""Bytes of protobuf framing and fixed fields per record (size, piece size, content hash, tags),
rounded up."""

_PROVIDER_OVERHEAD = 48
"""Bytes per provider besides its two strings: a 20-byte id, an 8-byte double, tags, lengths."""


@dataclass(frozen=True, slots=True, order=True)
class RecordKey:
    """Which record: a name and the content hash of one file published under it, and the word
    it is filed under for a word entry (``""`` for the name record itself)."""

    name: str
    content_hash: bytes
    word: str = ""

    @classmethod
    def of(cls, record: FileRecord) -> RecordKey:
        return cls(record.name, record.manifest.content_hash, record.word)

    @property
    def variant(self) -> RecordKey:
        """The content this key is about (without the word): what a provider is asked about."""
        return RecordKey(self.name, self.content_hash) if self.word else self


@dataclass(frozen=True, slots=True)
class RecordPage:
    """Part of a range of records. ``more``: ask again with ``after=RecordKey.of(records[-1])``."""

    records: tuple[FileRecord, ...]
    more: bool

    @property
    def next_after(self) -> RecordKey | None:
        return RecordKey.of(self.records[-1]) if self.more and self.records else None


def encoded_size(record: FileRecord) -> int:
    """An upper estimate of the record's protobuf size in bytes, used to fill bounded pages."""
    m = record.manifest
    size = _RECORD_OVERHEAD + len(m.name.encode("utf-8")) + len(record.word.encode("utf-8"))
    size += (DIGEST_SIZE + 2) * m.pieces
    for p in record.providers:
        size += _PROVIDER_OVERHEAD + len(p.grpc_address.encode()) + len(p.uri.encode())
    return size


def record_problem(record: FileRecord) -> str | None:
    """Why ``record`` may not enter the DHT, or ``None``. The manifest already validated its
    sizes and digests on construction; this adds the name rules and the size caps."""
    return name_problem(record.name) or _shape_problem(record)


def word_entries(record: FileRecord) -> list[FileRecord]:
    """The word entries that index ``record`` (a name record) under the words of its name, its
    providers unpinned (see :class:`FileRecord`)."""
    providers = tuple(replace(p, pinned=False) if p.pinned else p for p in record.providers)
    return [replace(record, word=w, providers=providers) for w in words_of(record.name)]


def _shape_problem(record: FileRecord) -> str | None:
    """``record_problem`` without the name."""
    if record.word:
        problem = word_problem(record.word, record.name)
        if problem is not None:
            return problem
        if any(p.pinned for p in record.providers):
            return "a word entry's providers are never pinned"
    if record.manifest.pieces > MAX_PIECES_PER_RECORD:
        return f"{record.manifest.pieces} pieces, at most {MAX_PIECES_PER_RECORD} allowed"
    if not record.providers:
        return "a record needs at least one provider"
    if len(record.providers) > MAX_PROVIDERS_PER_RECORD:
        return f"{len(record.providers)} providers, at most {MAX_PROVIDERS_PER_RECORD} allowed"
    seen: set[int] = set()
    for i, p in enumerate(record.providers):
        if p.node_id < 0:
            return f"providers[{i}].node_id is negative"
        if p.node_id in seen:
            return f"providers[{i}]: node {p.node_id:#x} is listed twice"
        seen.add(p.node_id)
        if not p.grpc_address or len(p.grpc_address) > MAX_ADDRESS_CHARS:
            return f"providers[{i}].grpc_address must be 1..{MAX_ADDRESS_CHARS} characters"
        if len(p.uri) > MAX_URL_CHARS:
            return f"providers[{i}].uri is longer than {MAX_URL_CHARS} characters"
        if p.expires_at != p.expires_at or p.expires_at in (float("inf"), float("-inf")):
            return f"providers[{i}].expires_at is not a finite time"
    return None


def check_record(record: FileRecord) -> FileRecord:
    """Return ``record`` if it may enter the DHT; raise :class:`InvalidName` for a bad name and
    :class:`InvalidInput` for anything else."""
    try:
        validate_name(record.name)
    except InvalidName as exc:
        raise InvalidName(f"record name {record.name!r}: {exc}") from exc
    problem = _shape_problem(record)
    if problem is not None:
        raise InvalidInput(f"record {record.name!r}: {problem}")
    return record


def clamp_expiry(record: FileRecord, latest: float) -> FileRecord:
    """``record`` with every provider's ``expires_at`` cut down to ``latest`` (the same object
    when none lies beyond it). A receiver applies it with ``latest = now + TTL + skew``: an
    honest provider announces at most one TTL ahead, so only a forged or badly skewed entry is
    changed, and its lifetime is bounded by one TTL however far ahead it claimed."""
    if all(p.expires_at <= latest for p in record.providers):
        return record
    providers: tuple[Provider, ...] = tuple(
        replace(p, expires_at=latest) if p.expires_at > latest else p for p in record.providers
    )
    return replace(record, providers=providers)
