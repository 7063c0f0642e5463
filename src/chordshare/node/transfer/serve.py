"""The node's side of the Transfer protocol: serving pieces and receiving uploads.

Downloads are served from the shared directory (through the :class:`SharedIndex`) and from the
blob store (files this node received or fetched, kept by content hash whatever their names),
looked up by content hash; bytes are read with ``os.pread`` in bounded chunks and never verified
here (the downloader verifies every piece and blames the provider on a mismatch, which covers a
file edited after it was indexed).

Uploads are checked as they arrive (:class:`PieceReceiver`): the header's name must be a valid
display name and its size within ``max_file_bytes``; every chunk must belong to the declared
manifest and every piece must hash right. A refused upload leaves nothing behind; an accepted
one is fsynced and renamed into the blob store as a pinned replica (another content under the
same name is a file of its own, left alone) before the node answers with its identity. A node
whose pinned quota cannot take the file refuses it before any byte (LimitExceeded, which the
uploader answers by trying the next successor).

Removal (:mod:`chordshare.model.removal`): an upload's removal keys are kept with its copy once
it is stored; ``remove`` drops the copy for a secret one of them opens, once no other key is
left, and lets the node withdraw its provider entry (``on_removed``) before it answers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from chordshare.errors import InvalidInput, LimitExceeded, NotFound, NotPermitted
from chordshare.model.manifest import DIGEST_SIZE, FileManifest
from chordshare.model.names import validate_name
from chordshare.model.removal import check_keys, check_secret, matching
from chordshare.node.transfer.tracker import Transfer, TransferTracker, counted
from chordshare.ring import PeerRef
from chordshare.storage.files.blobs import BlobStore
from chordshare.storage.files.index import SharedIndex
from chordshare.storage.files.pieces import PieceReader, PieceReceiver
from chordshare.storage.files.removal import RemovalStore
from chordshare.transport.ports.transfer import Chunk, StreamGate, TransferLimits

log = logging.getLogger(__name__)


@dataclass(slots=True)
class TransferStats:
    pieces_served: int = 0
    bytes_served: int = 0
    uploads_stored: int = 0
    uploads_refused: int = 0
    copies_removed: int = 0
    removals_refused: int = 0


class FileTransferService:
    """Implements :class:`chordshare.transport.ports.transfer.TransferService` for one node."""

    def __init__(
        self,
        me: PeerRef,
        blobs: BlobStore,
        index: SharedIndex | None = None,
        limits: TransferLimits | None = None,
        *,
        on_stored: Callable[[FileManifest], None] | None = None,
        removal: RemovalStore | None = None,
        on_removed: Callable[[FileManifest], Awaitable[None]] | None = None,
    ) -> None:
        """``on_stored`` is called (on the event loop) with the manifest of every upload this
        node has stored, before it acknowledges it; ``on_removed`` is awaited with the manifest
        of every copy dropped by a removal, before the removal is answered. Without a
        ``removal`` store no copy keeps keys, and every removal is refused."""
        self.me = me
        self.blobs = blobs
        self.index = index
        self.limits = limits or TransferLimits()
        self.gate = StreamGate(self.limits.max_streams_per_peer)
        self.stats = TransferStats()
        self._on_stored = on_stored
        self.removal = removal
        self._on_removed = on_removed
        self.tracker: TransferTracker | None = None
        """Where the streams served and the uploads received are registered (set by the
        composition root; ``None``: not tracked)."""

    def _reader(self, content_hash: bytes) -> PieceReader:
        if len(content_hash) != DIGEST_SIZE:
            raise InvalidInput(f"content hash must be {DIGEST_SIZE} bytes")
        reader = self.index.reader(content_hash) if self.index is not None else None
        if reader is None:
            reader = self.blobs.reader(content_hash)
        if reader is None:
            raise NotFound(f"no file with content hash {content_hash.hex()} here")
        return reader

    async def download(
        self, content_hash: bytes, first_piece: int, piece_count: int, *, peer: str
    ) -> AsyncGenerator[Chunk, None]:
        with self.gate.stream(peer), self._reader(content_hash) as reader:
            manifest = reader.manifest
            if piece_count < 1 or first_piece < 0 or first_piece + piece_count > manifest.pieces:
                raise InvalidInput(
                    f"pieces {first_piece}+{piece_count} out of range (file has {manifest.pieces})"
                )
            step = self.limits.chunk_size
            transfer = None
            if self.tracker is not None:
                start = first_piece * manifest.piece_size
                end = min(manifest.size, (first_piece + piece_count) * manifest.piece_size)
                transfer = self.tracker.begin(
                    "serve",
                    name=manifest.name,
                    content_hash=content_hash,
                    bytes_total=end - start,
                    peer=peer,
                )
            try:
                for piece in range(first_piece, first_piece + piece_count):
                    length = manifest.piece_length(piece)
                    for offset in range(0, length, step):
                        data = reader.view(piece, offset, min(step, length - offset))
                        size = len(data)
                        self.stats.bytes_served += size
                        if transfer is not None:
                            transfer.bytes_done += size
                        yield Chunk(piece, offset, data)
                    self.stats.pieces_served += 1
            except BaseException as exc:
                if transfer is not None:
                    self._end(transfer, exc)
                raise
            if transfer is not None:
                self._end(transfer)

    async def upload(
        self,
        manifest: FileManifest,
        chunks: AsyncIterator[Chunk],
        *,
        peer: str,
        removal_keys: tuple[bytes, ...] = (),
    ) -> PeerRef:
        try:
            validate_name(manifest.name)
            keys = check_keys(removal_keys)
            if manifest.size > self.limits.max_file_bytes:
                raise LimitExceeded(
                    f"{manifest.name} is {manifest.size} bytes, over the limit of "
                    f"{self.limits.max_file_bytes}"
                )
            with self.gate.stream(peer):
                if self.tracker is None:
                    await self._receive(manifest, chunks)
                else:
                    with self.tracker.track(
                        "upload",
                        name=manifest.name,
                        content_hash=manifest.content_hash,
                        bytes_total=manifest.size,
                        peer=peer,
                    ) as transfer:
                        await self._receive(manifest, counted(chunks, transfer))
            if keys and self.removal is not None:
                await asyncio.to_thread(
                    self.removal.add_keys, manifest.name, manifest.content_hash, keys
                )
        except BaseException:
            self.stats.uploads_refused += 1
            raise
        self.stats.uploads_stored += 1
        if self._on_stored is not None:
            self._on_stored(manifest)
        return self.me

    async def remove(self, name: str, content_hash: bytes, secret: bytes) -> bool:
        validate_name(name)
        check_secret(secret)
        if len(content_hash) != DIGEST_SIZE:
            raise InvalidInput(f"content hash must be {DIGEST_SIZE} bytes")
        held = self.blobs.by_content(content_hash)
        if held is None or name not in held.names or held.kind != "pinned":
            raise NotFound(f"no pinned copy of {name} ({content_hash.hex()[:12]}) here")
        keys = await self.removal_keys(name, content_hash)
        key = matching(secret, keys)
        if key is None:
            self.stats.removals_refused += 1
            raise NotPermitted(f"that secret removes no upload of {name} held here")
        assert self.removal is not None  # keys came from it
        left = await asyncio.to_thread(self.removal.drop_key, name, content_hash, key)
        if left:
            log.info("removal of one upload of %s: %d other uploads keep the copy", name, left)
            return False
        manifest = held.manifest_as(name)
        await asyncio.to_thread(self.blobs.remove_name, name, content_hash)
        self.stats.copies_removed += 1
        log.info("removed %s (%d bytes): its uploader withdrew it", name, manifest.size)
        if self._on_removed is not None:
            await self._on_removed(manifest)
        return True

    async def removal_keys(self, name: str, content_hash: bytes) -> tuple[bytes, ...]:
        validate_name(name)
        if len(content_hash) != DIGEST_SIZE:
            raise InvalidInput(f"content hash must be {DIGEST_SIZE} bytes")
        if self.removal is None:
            return ()
        return await asyncio.to_thread(self.removal.keys, name, content_hash)

    def _end(self, transfer: Transfer, error: BaseException | str | None = None) -> None:
        """End a served stream: a reader that stops early (``GeneratorExit``) is no failure
        when it had every byte, and otherwise a stream cut short."""
        assert self.tracker is not None
        if isinstance(error, GeneratorExit) and transfer.bytes_done == transfer.bytes_total:
            error = None
        elif isinstance(error, GeneratorExit):
            error = "the reader closed the stream early"
        self.tracker.end(transfer, error)

    async def _receive(self, manifest: FileManifest, chunks: AsyncIterator[Chunk]) -> None:
        partial = self.blobs.incoming(manifest, kind="pinned")
        try:
            receiver = PieceReceiver(manifest)
            async for chunk in chunks:
                if receiver.complete:
                    raise InvalidInput(f"{manifest.name}: more bytes than the declared size")
                receiver.check(chunk.piece, chunk.offset, memoryview(chunk.data).nbytes)
                partial.write(chunk.piece, chunk.offset, chunk.data)
                if receiver.feed(chunk.piece, chunk.offset, chunk.data):
                    partial.mark_verified(chunk.piece)
            if not receiver.complete:
                raise InvalidInput(
                    f"{manifest.name}: stream ended with {len(receiver.verified)} of "
                    f"{manifest.pieces} pieces"
                )
            await asyncio.to_thread(partial.finish)
        except BaseException:
            partial.discard()
            raise
        log.info("stored %s (%d bytes) from an upload", manifest.name, manifest.size)
