"""A node's own copies of file bytes: what it holds and serves, and what byte repair sees.

:class:`NodeCopies` lists the files a node holds (for the REST routes and its announcements)
and implements :class:`chordshare.node.transfer.replicate.LocalCopies` over the
node's shared index and blob store: a verified local copy of a content is its shared file or its
stored blob; pinning a stored (cached) copy marks it pinned, so that quotas and eviction treat
it as one of the k replicas, and announces it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from chordshare.clock import Clock
from chordshare.model.held import HeldFile
from chordshare.model.manifest import FileManifest
from chordshare.node.transfer.replicate import ByteRepair
from chordshare.storage.files.blobs import BlobStore
from chordshare.storage.files.index import SharedIndex

log = logging.getLogger(__name__)

Announce = Callable[[FileManifest], Awaitable[object]]
"""Publish this node as a pinned provider of a file."""


class NodeCopies:
    def __init__(self, index: SharedIndex, blobs: BlobStore, announce: Announce) -> None:
        self.index = index
        self.blobs = blobs
        self.announce = announce

    def held_files(self) -> list[HeldFile]:
        """Shared files, then every (name, content) of the blob store: a content stored under
        two names is listed (and announced) under each."""
        shared = [HeldFile("shared", f.manifest, f.path) for f in self.index.files()]
        stored = [
            HeldFile("store", s.manifest_as(name), s.path, pinned=s.kind == "pinned")
            for s in self.blobs.files()
            for name in s.names
        ]
        return shared + stored

    def held_file(self, name: str, content_hash: bytes | None = None) -> HeldFile | None:
        """This node's file under ``name``: the shared one, else a stored content under that
        name (with ``content_hash`` that one only, else the one stored most recently). A stored
        file found counts as read (the cache evicts the least recently read)."""
        shared = self.index.by_name(name)
        if shared is not None and content_hash in (None, shared.manifest.content_hash):
            return HeldFile("shared", shared.manifest, shared.path)
        if content_hash is None:
            stored = self.blobs.latest(name)
        else:
            stored = self.blobs.by_content(content_hash)
            stored = stored if stored is not None and name in stored.names else None
        if stored is None:
            return None
        self.blobs.touch(stored.content_hash)
        pinned = stored.kind == "pinned"
        return HeldFile("store", stored.manifest_as(name), stored.path, pinned=pinned)

    def copy_of(self, manifest: FileManifest) -> Path | None:
        content = manifest.content_hash
        shared = self.index.by_content(content)
        if shared is not None:
            return shared.path
        stored = self.blobs.by_content(content)
        return None if stored is None else stored.path

    async def pin(self, manifest: FileManifest) -> None:
        await asyncio.to_thread(self.blobs.pin, manifest)
        await self.announce(manifest)


async def hand_off_pinned(
    repair: ByteRepair, pinned: Sequence[FileManifest], limit: float, clock: Clock
) -> None:
    """A leaving node's hand-off of the bytes it pins, for at most ``limit`` seconds; logged,
    never raised (the key owners' repair copies what is left from the other holders)."""
    if not pinned:
        return
    began = clock.now()
    try:
        async with asyncio.timeout(limit):
            report = await repair.hand_off(pinned)
    except TimeoutError:
        log.warning(
            "hand-off of %d pinned files cut short after %.0f s: the key owners' repair copies "
            "the rest from their other holders",
            len(pinned),
            limit,
        )
        return
    for failure in report.failures:
        log.warning("hand-off: %s", failure)
    log.info(
        "handed off %d pinned files in %.1f s: %d copies made, %d left short",
        report.contents,
        clock.now() - began,
        report.copies,
        report.short,
    )
