"""Uploading a file into the network.

The holders of a file are the owner of the ring id of its *name* and the owner's next k-1
successors, as for its DHT record (DESIGN.md §4), so the bytes live where the record does and
stay available after the uploader leaves. The uploader hashes the file (a stream is spooled to
``spool_dir`` first, since the header carries every piece hash), then streams it to the holders
in parallel. A holder that fails is replaced by the next successor; a holder that cannot be
reached at all counts as not being in the ring. The upload succeeds once min(k, ring size)
holders have acknowledged, each after storing durably and verifying every piece; the result
names them and carries the record to publish (``publish`` does it before returning).
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from chordshare.errors import (
    ChordshareError,
    InvalidInput,
    LimitExceeded,
    PeerUnavailable,
    TransferError,
)
from chordshare.model.limits import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_PROVIDER_TTL,
    DEFAULT_REPLICAS,
)
from chordshare.model.manifest import DEFAULT_PIECE_SIZE, FileManifest, FileRecord, Provider
from chordshare.model.names import validate_name
from chordshare.node.ring.lookup import LookupResult
from chordshare.node.transfer.tracker import Transfer, counted
from chordshare.ring import IdSpace, PeerRef
from chordshare.storage.files.pieces import PieceHasher, PieceReader, hash_file
from chordshare.transport.ports.transfer import Chunk, TransferClient

log = logging.getLogger(__name__)

Publish = Callable[[FileRecord], Awaitable[None]]


class Locator(Protocol):
    """What the uploader needs from the ring (a :class:`chordshare.node.ring.chord.ChordNode`)."""

    space: IdSpace

    async def find_successor(self, key: int, start: PeerRef | None = None) -> LookupResult: ...


@dataclass(frozen=True, slots=True)
class UploadResult:
    record: FileRecord
    """The file's record, with the holders as providers (publish it, or ``publish`` did)."""
    holders: tuple[PeerRef, ...]
    failed: dict[str, str]
    """Address -> why, for candidates that did not take the file."""
    removal_secret: bytes | None = None
    """The secret that removes this upload again (given by the node that drew it; see
    :mod:`chordshare.model.removal`)."""


UriOf = Callable[[PeerRef, str], str]
"""The REST URI under which a holder serves a file, for the provider entries of its record. The
node does not know the REST API's paths: the composition root passes the API's own function
(``chordshare.api.schemas.files.file_uri``)."""


class Uploader:
    """Pushes files to their holders. One per node (or per CLI process)."""

    def __init__(
        self,
        locator: Locator,
        client: TransferClient,
        *,
        replication: int = DEFAULT_REPLICAS,
        piece_size: int = DEFAULT_PIECE_SIZE,
        spool_dir: Path,
        uri_of: UriOf,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        provider_ttl: float = DEFAULT_PROVIDER_TTL,
        wall_clock: Callable[[], float] = time.time,
        publish: Publish | None = None,
    ) -> None:
        if replication < 1:
            raise ValueError("replication must be at least 1")
        self.locator = locator
        self.client = client
        self.replication = replication
        self.piece_size = piece_size
        self.spool_dir = spool_dir
        self.uri_of = uri_of
        self.max_file_bytes = max_file_bytes
        self.chunk_bytes = chunk_bytes
        self.provider_ttl = provider_ttl
        self.wall_clock = wall_clock
        self.publish = publish
        self.spooling: set[Path] = set()
        """Spool files of the uploads in progress (a sweep of stale files must spare them)."""

    async def upload_path(
        self, path: Path, name: str | None = None, removal_keys: tuple[bytes, ...] = ()
    ) -> UploadResult:
        """Upload the file at ``path`` under ``name`` (default: its file name); the holders keep
        ``removal_keys`` with their copies (:mod:`chordshare.model.removal`)."""
        name = validate_name(path.name if name is None else name)
        manifest = await asyncio.to_thread(hash_file, path, name, self.piece_size)
        if manifest.size > self.max_file_bytes:
            raise LimitExceeded(f"{name} is over the limit of {self.max_file_bytes} bytes")
        return await self._push(path, manifest, removal_keys)

    async def upload_stream(
        self, data: AsyncIterable[bytes], name: str, removal_keys: tuple[bytes, ...] = ()
    ) -> UploadResult:
        """Upload the bytes of ``data`` (e.g. a REST request body) under ``name``."""
        name = validate_name(name)
        await asyncio.to_thread(self.spool_dir.mkdir, parents=True, exist_ok=True)
        # Created in the loop, not a worker thread: the file is in ``spooling`` (and removed
        # below) before anything can cancel this task, which an await would let happen while
        # the thread still makes the file, leaving it behind.
        handle = _new_spool(self.spool_dir)
        spool = Path(handle.name)
        self.spooling.add(spool)
        try:
            with handle:
                manifest = await self._spool(data, name, handle)
            return await self._push(spool, manifest, removal_keys)
        finally:
            self.spooling.discard(spool)
            await asyncio.to_thread(spool.unlink, missing_ok=True)

    async def _spool(self, data: AsyncIterable[bytes], name: str, out: IO[bytes]) -> FileManifest:
        hasher = PieceHasher(self.piece_size)
        async for block in data:
            if hasher.size + len(block) > self.max_file_bytes:
                raise LimitExceeded(f"{name} is over the limit of {self.max_file_bytes} bytes")
            hasher.update(block)
            out.write(block)
        return hasher.manifest(name)

    async def _push(
        self, path: Path, manifest: FileManifest, removal_keys: tuple[bytes, ...]
    ) -> UploadResult:
        name = manifest.name
        found = await self.locator.find_successor(self.locator.space.hash_key(name))
        candidates = found.holders()
        holders: list[PeerRef] = []
        failed: dict[str, ChordshareError] = {}
        unreachable = 0
        waiting = list(candidates)
        while True:
            needed = min(self.replication, len(candidates) - unreachable)
            if len(holders) >= needed and holders:
                break
            batch, waiting = waiting[: needed - len(holders)], waiting[needed - len(holders) :]
            if not batch:
                raise self._failure(name, failed)
            results = await asyncio.gather(
                *(self.send(peer, path, manifest, removal_keys=removal_keys) for peer in batch),
                return_exceptions=True,
            )
            for peer, result in zip(batch, results, strict=True):
                if isinstance(result, PeerRef):
                    holders.append(result)
                elif isinstance(result, ChordshareError):
                    failed[peer.grpc_address] = result
                    unreachable += isinstance(result, PeerUnavailable)
                    log.warning("holder %s did not take %s: %s", peer.grpc_address, name, result)
                else:
                    raise result
        record = FileRecord(manifest, tuple(self._provider(h, name) for h in holders))
        if self.publish is not None:
            await self.publish(record)
        reasons = {a: f"{type(e).__name__}: {e}" for a, e in failed.items()}
        return UploadResult(record, tuple(holders), reasons)

    def _failure(self, name: str, failed: dict[str, ChordshareError]) -> ChordshareError:
        errors = list(failed.values())
        if errors and all(isinstance(e, InvalidInput) for e in errors):
            return errors[0]  # refused as malformed everywhere: the caller's fault, say why
        reasons = "; ".join(f"{a}: {e}" for a, e in failed.items()) or "no holder found"
        return TransferError(f"{name}: not enough holders stored it ({reasons})")

    async def send(
        self,
        peer: PeerRef,
        path: Path,
        manifest: FileManifest,
        transfer: Transfer | None = None,
        *,
        removal_keys: tuple[bytes, ...] = (),
    ) -> PeerRef:
        """Stream the file at ``path`` to ``peer``, which stores it as a pinned holder once
        every piece verified there, with ``removal_keys``; the holder as it answered. Raises
        ChordshareError. ``transfer``: a tracked transfer to tell the bytes sent."""
        chunks = self._chunks(path, manifest)
        if transfer is not None:
            chunks = counted(chunks, transfer)
        holder = await self.client.upload(peer, manifest, chunks, removal_keys)
        if holder.id != peer.id:
            raise TransferError(f"{peer.grpc_address} answered as another node")
        return holder

    async def _chunks(self, path: Path, manifest: FileManifest) -> AsyncIterator[Chunk]:
        reader = await asyncio.to_thread(PieceReader.open, path, manifest)
        with reader:
            for piece in range(manifest.pieces):
                length = manifest.piece_length(piece)
                for offset in range(0, length, self.chunk_bytes):
                    yield Chunk(
                        piece,
                        offset,
                        reader.view(piece, offset, min(self.chunk_bytes, length - offset)),
                    )

    def _provider(self, holder: PeerRef, name: str) -> Provider:
        expires = self.wall_clock() + self.provider_ttl
        return Provider(
            holder.id, holder.grpc_address, self.uri_of(holder, name), expires, pinned=True
        )


def _new_spool(directory: Path) -> IO[bytes]:
    """A new spool file in ``directory``: a fresh random name, created exclusively, mode 0600
    (``tempfile``'s guarantees); the caller closes and removes it."""
    return tempfile.NamedTemporaryFile(dir=directory, suffix=".upload", delete=False)
