"""Fetching a file into a node's blob store on behalf of a REST request.

``GET /api/v1/network/files/{name}/content`` makes the node download the file from its providers
(:func:`chordshare.node.transfer.download.download_to_store`: every piece verified, several
providers at once, resumable) and then serve its own copy. :class:`Fetcher` runs one download per
content at a time: concurrent requests for the same file wait for the same download, which runs to
the end even if every request goes away (a client that hangs up should not waste what was fetched;
the node then provides the file). When every provider failed the caller gets ``PeerUnavailable``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace

from chordshare.clock import Clock
from chordshare.errors import PeerUnavailable, TransferError
from chordshare.model.held import HeldFile
from chordshare.model.manifest import FileManifest, FileRecord
from chordshare.node.transfer.download import download_to_store
from chordshare.storage.files.blobs import BlobStore
from chordshare.transport.ports.transfer import TransferClient

log = logging.getLogger(__name__)


class Fetcher:
    """Downloads records into ``blobs``; ``fetched(manifest)`` is told of every success."""

    def __init__(
        self,
        me: int,
        client: TransferClient,
        blobs: BlobStore,
        clock: Clock,
        fetched: Callable[[FileManifest], None],
    ) -> None:
        self.me = me
        self.client = client
        self.blobs = blobs
        self.clock = clock
        self._fetched = fetched
        self._running: dict[bytes, asyncio.Task[HeldFile]] = {}

    async def fetch(self, record: FileRecord) -> HeldFile:
        content = record.manifest.content_hash
        task = self._running.get(content)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._download(record))
            self._running[content] = task
            task.add_done_callback(lambda done: self._done(content, done))
        return await asyncio.shield(task)

    async def close(self) -> None:
        """Cancel the downloads still running (their verified pieces stay for a resume)."""
        running = list(self._running.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    def _done(self, content: bytes, task: asyncio.Task[HeldFile]) -> None:
        self._running.pop(content, None)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.info("download of %s failed: %s", content.hex()[:16], exc)  # and retrieved

    async def _download(self, record: FileRecord) -> HeldFile:
        others = tuple(p for p in record.providers if p.node_id != self.me)
        if not others:
            raise PeerUnavailable(
                f"{record.name}: no provider other than this node, which does not hold it "
                "(any more)"
            )
        try:
            report = await download_to_store(
                self.client, replace(record, providers=others), self.blobs, clock=self.clock
            )
        except TransferError as exc:  # every provider failed (our own disk: StorageError)
            raise PeerUnavailable(f"no provider could serve {record.name}: {exc}") from exc
        log.info("downloaded %s: pieces per provider %s", record.name, report.pieces_from)
        self._fetched(record.manifest)
        return HeldFile("store", record.manifest, report.path)
