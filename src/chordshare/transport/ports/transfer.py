"""The file-transfer boundary: moving pieces between nodes.

:class:`TransferService` is what a node serves (implemented by
:class:`chordshare.node.transfer.serve.FileTransferService`); :class:`TransferClient` is how a node
or the CLI asks, peer first. Method names pair with the RPCs of ``transfer.proto``
(``download`` <-> ``Download``, ``upload`` <-> ``Upload``, ``remove`` <-> ``Remove``,
``removal_keys`` <-> ``RemovalKeys``). Two clients ship:
``transport.memory.transfer`` and ``transport.grpc.transfer.client``.

Errors a client raises: :class:`chordshare.errors.PeerError` subclasses for transport faults;
:class:`chordshare.errors.NotFound` (the peer holds no such content),
:class:`chordshare.errors.NotPermitted` (a removal secret the peer's copy keeps no key for),
:class:`chordshare.errors.InvalidInput` (the peer refused the request as malformed: bad name,
range, or an upload that breaks its header), :class:`chordshare.errors.IntegrityError` (bytes
that fail their hash) and :class:`chordshare.errors.LimitExceeded` (too many streams, file too
large). :mod:`chordshare.transport.ports.status` is the table both transports translate by.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Protocol

from chordshare.errors import LimitExceeded
from chordshare.model.limits import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_STREAMS_PER_PEER,
    MAX_MESSAGE_BYTES,
)
from chordshare.model.manifest import Buffer, FileManifest
from chordshare.ring import PeerRef

MESSAGE_HEADROOM = 64 << 10
"""Bytes of a message budget kept for everything that is not chunk data (piece index, offset and
protobuf framing take under 20 bytes; the rest is slack for gRPC's own accounting)."""


@dataclass(frozen=True, slots=True)
class TransferLimits:
    """The bounds of the transfer protocol, taken from the node's config."""

    max_message_bytes: int = MAX_MESSAGE_BYTES
    """gRPC send/receive cap, on channels and servers alike."""
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    """Largest file a node accepts in an upload."""
    max_streams_per_peer: int = DEFAULT_MAX_STREAMS_PER_PEER
    """Concurrent Download/Upload streams one remote peer may have open on this node; a
    downloader spreads over several providers instead of opening many streams to one."""
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    """Data per message sent; capped so that a chunk always fits ``max_message_bytes``."""

    def __post_init__(self) -> None:
        if self.max_message_bytes < MESSAGE_HEADROOM * 2:
            raise ValueError(f"max_message_bytes must be at least {MESSAGE_HEADROOM * 2}")
        if self.max_file_bytes < 0 or self.max_streams_per_peer < 1 or self.chunk_bytes < 1:
            raise ValueError("transfer limits must be positive")

    @property
    def chunk_size(self) -> int:
        """Bytes of data per chunk message actually sent."""
        return min(self.chunk_bytes, self.max_message_bytes - MESSAGE_HEADROOM)


@dataclass(frozen=True, slots=True)
class Chunk:
    """``data`` at ``offset`` within piece ``piece``; never spans two pieces. Received chunks
    own their data; see :meth:`TransferService.download` for chunks being served."""

    piece: int
    offset: int
    data: Buffer


@dataclass(frozen=True, slots=True)
class UploadHeader:
    """What an Upload declares before its bytes: the file, and the removal keys of the uploads
    the copy belongs to (:mod:`chordshare.model.removal`; none: nobody may remove it)."""

    manifest: FileManifest
    removal_keys: tuple[bytes, ...] = ()


class StreamGate:
    """Counts open streams per remote peer and refuses one over the limit (no queueing: a busy
    provider should be left for another, and a queue would let a peer pin server memory)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: Counter[str] = Counter()

    def open_streams(self, peer: str) -> int:
        return self._open[peer]

    @contextlib.contextmanager
    def stream(self, peer: str) -> Iterator[None]:
        if self._open[peer] >= self.limit:
            raise LimitExceeded(f"more than {self.limit} concurrent streams from {peer}")
        self._open[peer] += 1
        try:
            yield
        finally:
            self._open[peer] -= 1
            if not self._open[peer]:
                del self._open[peer]


class TransferService(Protocol):
    """What a node serves (the server side of ``transfer.proto``). ``peer`` identifies the
    remote end (a gRPC peer string, a memory-network address) for the per-peer stream bound."""

    def download(
        self, content_hash: bytes, first_piece: int, piece_count: int, *, peer: str
    ) -> AsyncGenerator[Chunk, None]:
        """The chunks of pieces ``[first_piece, first_piece + piece_count)``, in order.

        A chunk's ``data`` may be a view into a buffer the service reuses: it is valid until the
        next chunk is asked for (the gRPC servicer serializes it before; the memory twin copies
        it), which saves the service an allocation per chunk."""
        ...

    async def upload(
        self,
        manifest: FileManifest,
        chunks: AsyncIterator[Chunk],
        *,
        peer: str,
        removal_keys: tuple[bytes, ...] = (),
    ) -> PeerRef:
        """Receive, verify and durably store the file ``manifest`` declares (keeping its
        ``removal_keys``); this node's ref."""
        ...

    async def remove(self, name: str, content_hash: bytes, secret: bytes) -> bool:
        """Drop the pinned copy of ``(name, content_hash)`` for the holder of ``secret``: True
        when the copy is gone, False when another upload's key keeps it. NotFound when no such
        copy is here, NotPermitted for a secret none of its keys matches."""
        ...

    async def removal_keys(self, name: str, content_hash: bytes) -> tuple[bytes, ...]:
        """The removal keys kept for that copy (none if it is not held)."""
        ...


class TransferClient(Protocol):
    """How a node (or the CLI) asks a peer (the client side of ``transfer.proto``)."""

    def download(
        self, peer: PeerRef, content_hash: bytes, first_piece: int, piece_count: int
    ) -> AsyncGenerator[Chunk, None]:
        """Stream the chunks of a piece range from ``peer``. The caller verifies them."""
        ...

    async def upload(
        self,
        peer: PeerRef,
        manifest: FileManifest,
        chunks: AsyncIterable[Chunk],
        removal_keys: tuple[bytes, ...] = (),
    ) -> PeerRef:
        """Send a file to ``peer``; returns the holder once it stored and verified it.

        ``chunks`` may reuse one buffer: a client consumes (serializes or copies) each chunk
        before asking for the next."""
        ...

    async def remove(self, peer: PeerRef, name: str, content_hash: bytes, secret: bytes) -> bool:
        """Ask ``peer`` to drop its copy (see :meth:`TransferService.remove`)."""
        ...

    async def removal_keys(
        self, peer: PeerRef, name: str, content_hash: bytes
    ) -> tuple[bytes, ...]:
        """The removal keys ``peer`` keeps for its copy."""
        ...
