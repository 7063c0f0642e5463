"""The REST wire contract of file sharing: models and paths.

The same rules as :mod:`chordshare.api.schemas.ring`: a public contract (fields may be added, never
renamed or removed), unknown fields ignored, ring ids as lowercase hex zero-padded to the ring's
width. Digests (content hash, piece hashes) are lowercase hex of their 32 bytes. Times are Unix
seconds (wall clock), since provider expiries cross machines.

A record carries its full list of piece hashes (``piece_hashes``, hex) besides their count
(``pieces``): a client that locates a file over REST can then fetch and verify its pieces straight
from the providers over gRPC (:meth:`FileRecordView.to_record` gives the domain value the
downloader takes). That costs 66 bytes of JSON per piece: 66 KiB for a 1 GiB file at the
default 1 MiB pieces.

Names travel in URL paths percent-encoded as one segment (:func:`file_path` and friends); every
name is a display name (:func:`chordshare.model.names.validate_name`), never a path.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from chordshare.api.schemas.ring import Peer
from chordshare.model.manifest import FileManifest, FileRecord, Provider
from chordshare.ring import IdSpace, PeerRef

HEX_DIGEST_PATTERN = r"^[0-9a-f]{64}$"
"""A 32-byte BLAKE3 digest (a piece hash or a content hash) in lowercase hex."""

FILES_PATH = "/api/v1/files"
NETWORK_FILES_PATH = "/api/v1/network/files"
CONTENT_HASH_HEADER = "X-Chordshare-Content-Hash"
"""Response header of file bytes: the content hash (hex) of the file they belong to."""

_HASH_A = "9f2c" * 16
_HASH_B = "03ab" * 16
_EXAMPLE_PROVIDER: JsonDict = {
    "node_id": "5f1d7c3a",
    "grpc_address": "10.0.0.2:7000",
    "uri": "http://10.0.0.2:8000/api/v1/files/holiday.jpg",
    "expires_at": 1767225600.0,
    "pinned": False,
}
_EXAMPLE_RECORD: JsonDict = {
    "name": "holiday.jpg",
    "size": 1500000,
    "piece_size": 1048576,
    "pieces": 2,
    "content_hash": _HASH_A,
    "piece_hashes": [_HASH_B, _HASH_B],
    "providers": [_EXAMPLE_PROVIDER],
}


class _Schema(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


def file_path(name: str) -> str:
    """``/api/v1/files/<name>``: this node's copy of a file."""
    return f"{FILES_PATH}/{quote(name, safe='')}"


def file_uri(holder: PeerRef, name: str) -> str:
    """The REST URI of ``name`` on ``holder`` (empty when its REST URL is unknown): what a
    provider entry names as the file's download address."""
    if not holder.http_url:
        return ""
    return holder.http_url.rstrip("/") + file_path(name)


def network_file_path(name: str) -> str:
    """``/api/v1/network/files/<name>``: the DHT record; PUT uploads."""
    return f"{NETWORK_FILES_PATH}/{quote(name, safe='')}"


def content_path(name: str) -> str:
    """``/api/v1/network/files/<name>/content``: the bytes, fetched from the providers."""
    return f"{network_file_path(name)}/content"


class HeldFileView(_Schema):
    """A file this node holds and serves at ``uri``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "holiday.jpg",
                    "size": 1500000,
                    "piece_size": 1048576,
                    "pieces": 2,
                    "content_hash": _HASH_A,
                    "uri": "http://10.0.0.2:8000/api/v1/files/holiday.jpg",
                    "source": "shared",
                }
            ]
        }
    )

    name: str
    size: int = Field(ge=0, description="Bytes.")
    piece_size: int = Field(ge=1)
    pieces: int = Field(ge=0)
    content_hash: str = Field(pattern=HEX_DIGEST_PATTERN, description="BLAKE3 over the pieces'.")
    uri: str = Field(description="Where this node serves the bytes (GET, supports Range).")
    source: Literal["shared", "store"] = Field(
        description="`shared`: a file of the shared directory; `store`: a file this node "
        "holds for the network (an upload it is a holder of, or a file it downloaded)."
    )


class HeldFiles(_Schema):
    """``GET /api/v1/files``: the files this node shares or holds."""

    node: str = Field(description="This node's ring id, hex.")
    files: list[HeldFileView]


class ProviderView(_Schema):
    """A node that serves a file's bytes until ``expires_at`` unless it republishes."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_PROVIDER]})

    node_id: str = Field(description="The provider's ring id, lowercase hex.")
    grpc_address: str = Field(
        description="host:port of its gRPC server (pieces are fetched there)."
    )
    uri: str = Field(description="REST URI of its copy ('' if unknown).")
    expires_at: float = Field(description="Unix time (seconds) the entry lapses at.")
    pinned: bool = Field(
        default=False,
        description="One of an upload's k replicas, which the name's owner keeps at k live "
        "holders (false: shared from a shared directory, or a cached copy).",
    )


class FileRecordView(_Schema):
    """One DHT record: a file's manifest and its live providers."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_RECORD]})

    name: str
    size: int = Field(ge=0)
    piece_size: int = Field(ge=1)
    pieces: int = Field(ge=0, description="Number of pieces (the length of `piece_hashes`).")
    content_hash: str = Field(pattern=HEX_DIGEST_PATTERN)
    piece_hashes: list[str] = Field(description="BLAKE3 of each piece, hex, in order.")
    providers: list[ProviderView]

    @classmethod
    def of(cls, space: IdSpace, record: FileRecord) -> FileRecordView:
        """The view of a domain record (node ids as hex of ``space``'s width)."""
        m = record.manifest
        return cls(
            name=m.name,
            size=m.size,
            piece_size=m.piece_size,
            pieces=m.pieces,
            content_hash=m.content_hash.hex(),
            piece_hashes=[h.hex() for h in m.piece_hashes],
            providers=[
                ProviderView(
                    node_id=space.hex(p.node_id),
                    grpc_address=p.grpc_address,
                    uri=p.uri,
                    expires_at=p.expires_at,
                    pinned=p.pinned,
                )
                for p in record.providers
            ],
        )

    def to_record(self) -> FileRecord:
        """The domain record (what ``chordshare.node.transfer.download`` takes). Raises
        ``ValueError`` if the hashes do not fit the size or do not add up to ``content_hash``."""
        manifest = FileManifest(
            self.name,
            self.size,
            self.piece_size,
            tuple(bytes.fromhex(h) for h in self.piece_hashes),
        )
        if manifest.content_hash.hex() != self.content_hash:
            raise ValueError(f"{self.name}: piece hashes do not match the content hash")
        providers = tuple(
            Provider(int(p.node_id, 16), p.grpc_address, p.uri, p.expires_at, p.pinned)
            for p in self.providers
        )
        return FileRecord(manifest, providers)


class NetworkFile(_Schema):
    """``GET /api/v1/network/files/{name}``: what the network knows under a name.

    Two different files may be published under one name: each is a record of its own
    (``records``, the one with most live providers first)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "holiday.jpg", "key_id": "8c2e0f11", "records": [_EXAMPLE_RECORD]}
            ]
        }
    )

    name: str
    key_id: str = Field(description="Ring id the name is stored under (SHA-1 of it), hex.")
    records: list[FileRecordView] = Field(min_length=1)


class NetworkFileNames(_Schema):
    """``GET /api/v1/network/files``: one page of the names known to the network, sorted.
    ``next_after``: pass it as ``after`` for the next page; null on the last page."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"names": ["a.txt", "holiday.jpg"], "next_after": None}]}
    )

    names: list[str]
    next_after: str | None


class UploadAnswer(_Schema):
    """``PUT /api/v1/network/files/{name}`` stored the file: its published record (the holders as
    providers), the holders, and the candidates that did not take it (address -> why)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "record": _EXAMPLE_RECORD,
                    "holders": [
                        {
                            "id": "5f1d7c3a",
                            "grpc_address": "10.0.0.2:7000",
                            "http_url": "http://10.0.0.2:8000",
                        }
                    ],
                    "failed": {},
                }
            ]
        }
    )

    record: FileRecordView
    holders: list[Peer] = Field(description="Nodes that stored and verified the file.")
    failed: dict[str, str] = Field(description="Candidate holders that did not take it.")
    removal_secret: str | None = Field(
        None,
        description="Hex secret that removes this upload again (`DELETE` with the "
        "`X-Chordshare-Removal-Secret` header). The node that accepted the upload keeps it too, "
        "so removing through that node needs no secret; keep it to remove through another.",
    )


class RemovalAnswer(_Schema):
    """``DELETE /api/v1/network/files/{name}``: what each pinned holder of the upload did."""

    name: str
    content_hash: str = Field(description="The content removed (hex).")
    removed: list[Peer] = Field(description="Holders that dropped their copy.")
    kept: list[Peer] = Field(
        description="Holders that dropped this upload's key but keep the copy for another "
        "upload of the same content under the same name."
    )
    not_held: list[Peer] = Field(description="Listed as holders, but held no such copy.")
    refused: dict[str, str] = Field(
        description="Holders whose copy keeps no key this secret opens (address -> why)."
    )
    unreachable: dict[str, str] = Field(
        description="Holders that did not answer (address -> why): ask again later."
    )
    complete: bool = Field(description="Every holder answered and none refused the secret.")
