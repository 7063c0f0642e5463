"""The "ask a peer about records" boundary: the DHT record operations.

:class:`RecordService` is what a node answers (implemented by
:class:`chordshare.node.records.node.RecordNode`); :class:`RecordClient` is how a node asks, with
the peer first. Method names pair with the RPCs of ``records.proto`` (``store_records`` <->
``StoreRecords``...). Two clients ship: ``transport.memory.records`` and
``transport.grpc.records.client``.

Every client method raises only :class:`chordshare.errors.PeerError` subclasses, as for the ring:
``PeerUnavailable`` / ``PeerTimeout`` for transport faults (and for the peer failing to reach a
third node), ``PeerProtocolError`` for a reply that breaks the contract or a request the peer
refused (INVALID_ARGUMENT over gRPC; both transports translate through the one table,
:mod:`chordshare.transport.ports.status`). The service side raises ``InvalidInput`` for a
malformed request.

Every message is bounded so that one call is one bounded piece of work on both sides and fits
the gRPC message limit: records per call and bytes per page are in ``chordshare.model.limits``,
the caps on a single record's size in ``chordshare.model.records``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from chordshare.model.limits import MAX_MESSAGE_BYTES, MAX_RECORDS_PER_CALL, RECORD_PAGE_BYTES
from chordshare.model.manifest import FileRecord
from chordshare.model.records import RecordKey, RecordPage, encoded_size
from chordshare.ring import PeerRef

MIN_MESSAGE_BYTES = 64 << 10
"""The smallest budget a node may be configured with: a record of a few hundred pieces must
still fit one message."""


def message_budget(max_message_bytes: int) -> int:
    """Record bytes per message for a gRPC message limit of ``max_message_bytes``: the same
    share of it as ``RECORD_PAGE_BYTES`` of the default cap (three quarters)."""
    return max(MIN_MESSAGE_BYTES, max_message_bytes * RECORD_PAGE_BYTES // MAX_MESSAGE_BYTES)


MAX_NAMES_PER_CALL = 1000
"""Names in one ListNames reply: at most ~250 KiB (names are at most 255 bytes), enough that a
REST page of names costs one call per node."""


def batches(
    records: Iterable[FileRecord],
    max_records: int = MAX_RECORDS_PER_CALL,
    max_bytes: int = RECORD_PAGE_BYTES,
) -> Iterator[list[FileRecord]]:
    """Split ``records`` into batches that respect both bounds (a record alone is never split)."""
    batch: list[FileRecord] = []
    used = 0
    for record in records:
        size = encoded_size(record)
        if batch and (len(batch) >= max_records or used + size > max_bytes):
            yield batch
            batch, used = [], 0
        batch.append(record)
        used += size
    if batch:
        yield batch


def fit(
    records: Sequence[FileRecord],
    max_records: int = MAX_RECORDS_PER_CALL,
    max_bytes: int = RECORD_PAGE_BYTES,
) -> list[FileRecord]:
    """The longest prefix of ``records`` that fits one message (at least one record)."""
    return next(batches(records, max_records, max_bytes), [])


class RecordService(Protocol):
    """What a node answers about records (the server side of ``records.proto``)."""

    async def store_records(self, records: Sequence[FileRecord], replicate: bool) -> None:
        """Merge ``records`` into the local store; with ``replicate``, the receiver (acting as the
        owner) also copies them to its next k-1 successors before answering."""
        ...

    async def get_records(self, name: str) -> list[FileRecord]:
        """The live variants stored here under ``name``, most providers first (as many as fit
        one message)."""
        ...

    async def fetch_range(self, start: int, end: int, after: RecordKey | None) -> RecordPage:
        """One page of the records here whose key id lies in ``(start, end]``."""
        ...

    async def range_digest(self, start: int, end: int) -> bytes:
        """SHA-256 fingerprint of the records here in ``(start, end]`` (anti-entropy)."""
        ...

    async def list_names(self, after: str, limit: int) -> list[str]:
        """Up to ``limit`` (1..MAX_NAMES_PER_CALL) sorted names stored here after ``after``;
        fewer than ``limit`` means there are no more."""
        ...

    async def provides(self, key: RecordKey) -> tuple[int, bool]:
        """This node's id, and whether it provides the variant ``key`` itself (holds and
        serves all its bytes): what a downloader checks a provider entry against."""
        ...

    async def find_word(self, word: str, after: RecordKey | None) -> RecordPage:
        """One page of the word entries filed here under ``word`` (live providers only), by
        name and content hash, after ``after`` (its word ignored)."""
        ...


class RecordClient(Protocol):
    """How a node asks another node about records (the client side of ``records.proto``)."""

    async def store_records(
        self, peer: PeerRef, records: Sequence[FileRecord], replicate: bool
    ) -> None: ...

    async def get_records(self, peer: PeerRef, name: str) -> list[FileRecord]: ...

    async def fetch_range(
        self, peer: PeerRef, start: int, end: int, after: RecordKey | None
    ) -> RecordPage: ...

    async def range_digest(self, peer: PeerRef, start: int, end: int) -> bytes: ...

    async def list_names(self, peer: PeerRef, after: str, limit: int) -> list[str]: ...

    async def provides(self, peer: PeerRef, key: RecordKey) -> tuple[int, bool]: ...

    async def find_word(self, peer: PeerRef, word: str, after: RecordKey | None) -> RecordPage: ...
