"""Where ``records.proto`` messages meet the record domain types
(``FileRecord``, ``Provider``, ``RecordKey``, ``RecordPage``, int ids).

Everything received is validated here before any node code sees it (DESIGN.md principle 9):
ids as in ``ring.proto`` (reusing :class:`chordshare.transport.grpc.ring.codec.WireCodec`), names as
display names, piece hashes as whole 32-byte digests whose count matches size and piece size,
the content hash as the BLAKE3 over them, and every bound of ``model.limits``,
``transport.ports.records`` and ``model.records``. As for the ring, a :class:`RecordCodec` is
built with the error to raise: ``InvalidInput`` on the server (-> INVALID_ARGUMENT; a bad name
raises its subclass ``InvalidName``), ``PeerProtocolError`` on the client.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from chordshare.errors import ChordshareError, InvalidInput, InvalidName
from chordshare.model.limits import MAX_RECORDS_PER_CALL
from chordshare.model.manifest import DIGEST_SIZE, FileManifest, FileRecord, Provider, content_hash
from chordshare.model.names import DisplayName
from chordshare.model.records import (
    MAX_PIECES_PER_RECORD,
    MAX_PROVIDERS_PER_RECORD,
    RecordKey,
    RecordPage,
    record_problem,
)
from chordshare.model.words import words_of
from chordshare.ring import IdSpace
from chordshare.transport.grpc.generated import records_pb2 as pb
from chordshare.transport.grpc.ring.codec import WireCodec
from chordshare.transport.ports.records import MAX_NAMES_PER_CALL


class RecordCodec:
    """Converts between ``records.proto`` messages and domain values for one ring ``space``."""

    def __init__(self, space: IdSpace, error: type[ChordshareError]) -> None:
        self.space = space
        self.error = error
        self.ids = WireCodec(space, error)

    # -- names and keys ---------------------------------------------------------------------

    def decode_name(self, name: str, field: str) -> DisplayName:
        try:
            return DisplayName(name)
        except InvalidName as exc:
            kind = InvalidName if issubclass(self.error, InvalidInput) else self.error
            raise kind(f"{field}: {exc}") from exc

    def encode_key(self, key: RecordKey) -> pb.RecordKey:
        return pb.RecordKey(name=key.name, content_hash=key.content_hash, word=key.word)

    def decode_key(self, msg: pb.RecordKey, field: str) -> RecordKey:
        if len(msg.content_hash) != DIGEST_SIZE:
            raise self.error(f"{field}.content_hash: {len(msg.content_hash)} bytes, not 32")
        word = self.decode_word(msg.word, f"{field}.word") if msg.word else ""
        return RecordKey(self.decode_name(msg.name, f"{field}.name"), msg.content_hash, word)

    def decode_word(self, word: str, field: str) -> str:
        """A word as :func:`chordshare.model.words.words_of` gives it, or the error."""
        if words_of(word) != (word,):
            raise self.error(f"{field}: {word[:80]!r} is not one lower-case word")
        return word

    # -- records ----------------------------------------------------------------------------

    def encode_record(self, record: FileRecord) -> pb.FileRecord:
        m = record.manifest
        return pb.FileRecord(
            name=m.name,
            size=m.size,
            piece_size=m.piece_size,
            piece_hashes=b"".join(m.piece_hashes),
            content_hash=m.content_hash,
            word=record.word,
            providers=[
                pb.Provider(
                    node_id=self.ids.encode_id(p.node_id),
                    grpc_address=p.grpc_address,
                    uri=p.uri,
                    expires_at=p.expires_at,
                    pinned=p.pinned,
                    withdrawn=p.withdrawn,
                )
                for p in record.providers
            ],
        )

    def decode_record(self, msg: pb.FileRecord, field: str) -> FileRecord:
        name = self.decode_name(msg.name, f"{field}.name")
        hashes = msg.piece_hashes
        if len(hashes) % DIGEST_SIZE:
            raise self.error(f"{field}.piece_hashes: {len(hashes)} bytes, not whole digests")
        count = len(hashes) // DIGEST_SIZE
        if count > MAX_PIECES_PER_RECORD:
            raise self.error(
                f"{field}.piece_hashes: {count} pieces, at most {MAX_PIECES_PER_RECORD}"
            )
        if len(msg.content_hash) != DIGEST_SIZE:
            raise self.error(f"{field}.content_hash: {len(msg.content_hash)} bytes, not 32")
        if len(msg.providers) > MAX_PROVIDERS_PER_RECORD:
            raise self.error(
                f"{field}.providers: {len(msg.providers)}, at most {MAX_PROVIDERS_PER_RECORD}"
            )
        pieces = tuple(hashes[i : i + DIGEST_SIZE] for i in range(0, len(hashes), DIGEST_SIZE))
        if content_hash(pieces) != msg.content_hash:
            raise self.error(f"{field}.content_hash: not the BLAKE3 of piece_hashes")
        try:
            manifest = FileManifest(name, msg.size, msg.piece_size, pieces)
        except ValueError as exc:  # piece size out of bounds, count not matching the size
            raise self.error(f"{field}: {exc}") from exc
        providers = []
        for i, p in enumerate(msg.providers):
            where = f"{field}.providers[{i}]"
            node = self.ids.decode_id(p.node_id, f"{where}.node_id")
            if not math.isfinite(p.expires_at):
                raise self.error(f"{where}.expires_at: not a finite time")
            if not p.grpc_address:
                raise self.error(f"{where}.grpc_address: empty")
            providers.append(
                Provider(node, p.grpc_address, p.uri, p.expires_at, p.pinned, p.withdrawn)
            )
        record = FileRecord(manifest, tuple(providers), msg.word)
        problem = record_problem(record)
        if problem is not None:
            raise self.error(f"{field}: {problem}")
        return record

    def encode_records(self, records: Iterable[FileRecord]) -> list[pb.FileRecord]:
        return [self.encode_record(r) for r in records]

    def decode_records(self, items: Sequence[pb.FileRecord], field: str) -> list[FileRecord]:
        if len(items) > MAX_RECORDS_PER_CALL:
            raise self.error(f"{field}: {len(items)} records, at most {MAX_RECORDS_PER_CALL}")
        return [self.decode_record(msg, f"{field}[{i}]") for i, msg in enumerate(items)]

    # -- StoreRecords / GetRecords ------------------------------------------------------------

    def encode_store(
        self, records: Sequence[FileRecord], replicate: bool
    ) -> pb.StoreRecordsRequest:
        return pb.StoreRecordsRequest(records=self.encode_records(records), replicate=replicate)

    def decode_store(self, msg: pb.StoreRecordsRequest) -> tuple[list[FileRecord], bool]:
        return self.decode_records(msg.records, "records"), msg.replicate

    def encode_get_request(self, name: str) -> pb.GetRecordsRequest:
        return pb.GetRecordsRequest(name=name)

    def decode_get_request(self, msg: pb.GetRecordsRequest) -> str:
        return self.decode_name(msg.name, "name")

    def decode_get_response(self, msg: pb.GetRecordsResponse, name: str) -> list[FileRecord]:
        records = self.decode_records(msg.records, "records")
        for i, record in enumerate(records):
            if record.name != name or record.word:
                raise self.error(f"records[{i}]: named {record.name!r}, asked for {name!r}")
        return records

    # -- FetchRange ---------------------------------------------------------------------------

    def encode_range(self, start: int, end: int, after: RecordKey | None) -> pb.FetchRangeRequest:
        return pb.FetchRangeRequest(
            start=self.ids.encode_id(start),
            end=self.ids.encode_id(end),
            after=None if after is None else self.encode_key(after),
        )

    def decode_range(self, msg: pb.FetchRangeRequest) -> tuple[int, int, RecordKey | None]:
        after = self.decode_key(msg.after, "after") if msg.HasField("after") else None
        return self.ids.decode_id(msg.start, "start"), self.ids.decode_id(msg.end, "end"), after

    def encode_page(self, page: RecordPage) -> pb.FetchRangeResponse:
        return pb.FetchRangeResponse(records=self.encode_records(page.records), more=page.more)

    def decode_page(self, msg: pb.FetchRangeResponse) -> RecordPage:
        records = self.decode_records(msg.records, "records")
        if msg.more and not records:
            raise self.error("more: set on an empty page (there is nothing to resume after)")
        return RecordPage(tuple(records), msg.more)

    # -- RangeDigest ----------------------------------------------------------------------------

    def encode_digest_request(self, start: int, end: int) -> pb.RangeDigestRequest:
        return pb.RangeDigestRequest(start=self.ids.encode_id(start), end=self.ids.encode_id(end))

    def decode_digest_request(self, msg: pb.RangeDigestRequest) -> tuple[int, int]:
        return self.ids.decode_id(msg.start, "start"), self.ids.decode_id(msg.end, "end")

    def encode_digest(self, digest: bytes) -> pb.RangeDigestResponse:
        return pb.RangeDigestResponse(digest=digest)

    def decode_digest(self, msg: pb.RangeDigestResponse) -> bytes:
        if len(msg.digest) != DIGEST_SIZE:
            raise self.error(f"digest: {len(msg.digest)} bytes, not 32")
        return msg.digest

    # -- ListNames ----------------------------------------------------------------------------

    def encode_list_request(self, after: str, limit: int) -> pb.ListNamesRequest:
        return pb.ListNamesRequest(after=after, limit=limit)

    def decode_list_request(self, msg: pb.ListNamesRequest) -> tuple[str, int]:
        if not 1 <= msg.limit <= MAX_NAMES_PER_CALL:
            raise self.error(f"limit: {msg.limit}, must be in 1..{MAX_NAMES_PER_CALL}")
        after = self.decode_name(msg.after, "after") if msg.after else ""
        return after, msg.limit

    def encode_names(self, names: Iterable[str]) -> pb.ListNamesResponse:
        return pb.ListNamesResponse(names=names)

    def decode_names(self, msg: pb.ListNamesResponse, after: str, limit: int) -> list[str]:
        if len(msg.names) > limit:
            raise self.error(f"names: {len(msg.names)}, asked for at most {limit}")
        names: list[str] = [self.decode_name(n, f"names[{i}]") for i, n in enumerate(msg.names)]
        if any(n <= after for n in names) or names != sorted(set(names)):
            raise self.error("names: not sorted, distinct and after the cursor")
        return names

    # -- FindWord -----------------------------------------------------------------------------

    def encode_find_word(self, word: str, after: RecordKey | None) -> pb.FindWordRequest:
        return pb.FindWordRequest(
            word=word, after=None if after is None else self.encode_key(after)
        )

    def decode_find_word(self, msg: pb.FindWordRequest) -> tuple[str, RecordKey | None]:
        after = self.decode_key(msg.after, "after") if msg.HasField("after") else None
        return self.decode_word(msg.word, "word"), after

    def encode_word_page(self, page: RecordPage) -> pb.FindWordResponse:
        return pb.FindWordResponse(records=self.encode_records(page.records), more=page.more)

    def decode_word_page(self, msg: pb.FindWordResponse, word: str) -> RecordPage:
        records = self.decode_records(msg.records, "records")
        for i, record in enumerate(records):
            if record.word != word:
                raise self.error(f"records[{i}]: filed under {record.word!r}, asked for {word!r}")
        if msg.more and not records:
            raise self.error("more: set on an empty page (there is nothing to resume after)")
        return RecordPage(tuple(records), msg.more)

    # -- Provides -----------------------------------------------------------------------------

    def encode_provides_request(self, key: RecordKey) -> pb.ProvidesRequest:
        return pb.ProvidesRequest(name=key.name, content_hash=key.content_hash)

    def decode_provides_request(self, msg: pb.ProvidesRequest) -> RecordKey:
        if len(msg.content_hash) != DIGEST_SIZE:
            raise self.error(f"content_hash: {len(msg.content_hash)} bytes, not 32")
        return RecordKey(self.decode_name(msg.name, "name"), msg.content_hash)

    def encode_provides(self, node_id: int, provides: bool) -> pb.ProvidesResponse:
        return pb.ProvidesResponse(node_id=self.ids.encode_id(node_id), provides=provides)

    def decode_provides(self, msg: pb.ProvidesResponse) -> tuple[int, bool]:
        return self.ids.decode_id(msg.node_id, "node_id"), msg.provides
