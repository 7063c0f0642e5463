"""Stub services for the contract scenarios: every handler follows one :class:`Script`.

The stubs implement the ``RingService``, ``RecordService`` and ``TransferService`` protocols of
``chordshare.transport.ports`` with fixed, valid answers, so that what a call ends with depends
only on the script: answer, raise ``error`` on entry, hang until released, or (downloads and
uploads) raise ``late`` after the first chunk.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Collection, Sequence

from chordshare.model.manifest import MIN_PIECE_SIZE, FileManifest, FileRecord
from chordshare.model.records import RecordKey, RecordPage
from chordshare.ring import NextHop, PeerRef
from chordshare.storage.files.pieces import PieceHasher
from chordshare.transport.ports.ring import NodeInfo
from chordshare.transport.ports.transfer import Chunk
from tests.records.factory import provider, record

DATA = bytes(range(256)) * (MIN_PIECE_SIZE // 256)
"""One piece of content: one chunk per download or upload."""


def _manifest() -> FileManifest:
    hasher = PieceHasher(MIN_PIECE_SIZE)
    hasher.update(DATA)
    return hasher.manifest("contract.bin")


MANIFEST = _manifest()
RECORD: FileRecord = record("contract.bin", provider(7, 2e9))
CANDIDATE = PeerRef(99, "127.0.0.1:9")
"""A well-formed peer to name in rectify and leave notices (never called)."""


class Script:
    """What every handler of one served peer does before answering."""

    def __init__(self) -> None:
        self.error: BaseException | None = None
        """Raised on entry, before any answer or chunk."""
        self.late: Exception | None = None
        """Raised by a download after its first chunk, by an upload after consuming one."""
        self.hang = False
        """Wait for :attr:`release` on entry (a handler slower than any deadline)."""
        self.pause_after_first = False
        """A download waits for :attr:`release` between its first and second chunk."""
        self.release = asyncio.Event()
        self.entered = asyncio.Event()
        """Set once a handler has started."""
        self.sent = asyncio.Event()
        """Set once a download has handed over its first chunk."""

    async def run(self) -> None:
        self.entered.set()
        if self.hang:
            await self.release.wait()
        if self.error is not None:
            raise self.error


class StubRing:
    def __init__(self, script: Script, me: PeerRef | None = None) -> None:
        self.script = script
        self.me = me

    def ref(self) -> PeerRef:
        assert self.me is not None, "the peer's address is set once its server has bound"
        return self.me

    async def get_node_info(self) -> NodeInfo:
        await self.script.run()
        return NodeInfo(self.ref(), None, ())

    async def find_successor_step(self, key: int, exclude: Collection[int]) -> NextHop:
        await self.script.run()
        return NextHop(True, (self.ref(),))

    async def rectify(self, candidate: PeerRef) -> None:
        await self.script.run()

    async def leave_notice(
        self, leaving: PeerRef, predecessor: PeerRef | None, successors: tuple[PeerRef, ...]
    ) -> None:
        await self.script.run()

    async def ping(self) -> None:
        await self.script.run()


class StubRecords:
    def __init__(self, script: Script) -> None:
        self.script = script

    async def store_records(self, records: Sequence[FileRecord], replicate: bool) -> None:
        await self.script.run()

    async def get_records(self, name: str) -> list[FileRecord]:
        await self.script.run()
        return [RECORD]

    async def fetch_range(self, start: int, end: int, after: RecordKey | None) -> RecordPage:
        await self.script.run()
        return RecordPage((), False)

    async def range_digest(self, start: int, end: int) -> bytes:
        await self.script.run()
        return bytes(32)

    async def list_names(self, after: str, limit: int) -> list[str]:
        await self.script.run()
        return ["contract.bin"]


class StubTransfer:
    def __init__(self, script: Script, ring: StubRing) -> None:
        self.script = script
        self.ring = ring

    async def download(
        self, content_hash: bytes, first_piece: int, piece_count: int, *, peer: str
    ) -> AsyncGenerator[Chunk, None]:
        await self.script.run()
        yield Chunk(first_piece, 0, DATA)
        self.script.sent.set()
        if self.script.late is not None:
            raise self.script.late
        if self.script.pause_after_first:
            await self.script.release.wait()
            yield Chunk(first_piece, 0, DATA)

    async def upload(
        self,
        manifest: FileManifest,
        chunks: AsyncIterator[Chunk],
        *,
        peer: str,
        removal_keys: tuple[bytes, ...] = (),
    ) -> PeerRef:
        await self.script.run()
        async for _ in chunks:
            if self.script.late is not None:
                raise self.script.late
        return self.ring.ref()

    async def remove(self, name: str, content_hash: bytes, secret: bytes) -> bool:
        await self.script.run()
        return True

    async def removal_keys(self, name: str, content_hash: bytes) -> tuple[bytes, ...]:
        await self.script.run()
        return (b"k" * 32,)


async def chunks() -> AsyncIterator[Chunk]:
    """What the caller uploads: :data:`MANIFEST`'s one chunk."""
    yield Chunk(0, 0, DATA)
