"""The part of :class:`~chordshare.service.files.NodeFiles` the REST file routes use
(:class:`chordshare.api.deps.FilesFacade`): reads and writes handed to the parts that do them."""

from __future__ import annotations

from collections.abc import AsyncIterable

from chordshare.model.held import HeldFile
from chordshare.model.manifest import FileRecord
from chordshare.node.records.node import RecordNode
from chordshare.node.records.search import SearchResult
from chordshare.node.transfer.fetch import Fetcher, Fetching
from chordshare.node.transfer.remove import RemovalReport
from chordshare.node.transfer.upload import UploadResult
from chordshare.service.config import NodeConfig
from chordshare.service.copies import NodeCopies
from chordshare.service.removal import NodeRemoval


class FacadeMethods:
    """Mixed into NodeFiles, which sets these parts up."""

    config: NodeConfig
    copies: NodeCopies
    records: RecordNode
    removal: NodeRemoval
    fetcher: Fetcher

    @property
    def max_file_bytes(self) -> int:
        return self.config.max_file_bytes

    def held_files(self) -> list[HeldFile]:
        return self.copies.held_files()

    def held_file(self, name: str, content_hash: bytes | None = None) -> HeldFile | None:
        return self.copies.held_file(name, content_hash)

    async def find(self, name: str) -> list[FileRecord]:
        return await self.records.find(name)

    async def network_names(self, after: str, limit: int) -> list[str]:
        return await self.records.network_names(after, limit)

    async def search(self, query: str) -> SearchResult:
        return await self.records.search(query)

    async def upload(self, name: str, data: AsyncIterable[bytes]) -> UploadResult:
        return await self.removal.upload(name, data)

    async def remove(
        self, name: str, content_hash: bytes | None, secret: bytes | None
    ) -> RemovalReport:
        return await self.removal.remove(name, content_hash, secret)

    async def fetch(self, record: FileRecord) -> HeldFile:
        """This node's copy of ``record``, downloaded into the blob store if needed (see
        :class:`Fetcher`); this node then announces itself as a provider."""
        held = self.held_file(record.name, record.manifest.content_hash)
        return held if held is not None else await self.fetcher.fetch(record)

    def fetching(self, record: FileRecord) -> HeldFile | Fetching:
        """This node's copy of ``record``, or else its download into the blob store, running
        now (started if none is): its readers read verified pieces as they arrive."""
        held = self.held_file(record.name, record.manifest.content_hash)
        return held if held is not None else self.fetcher.start(record)
