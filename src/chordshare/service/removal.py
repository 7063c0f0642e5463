"""Removal of uploads on one node: the secrets it drew as an entry node, the keys it keeps as
a holder, and which upload a request means (see :mod:`chordshare.model.removal`).

An upload accepted through this node's REST API gets a fresh secret; the holders get its key,
this node keeps the secret (``data_dir/removal.sqlite3``) and the uploader gets it in the
answer. ``remove`` then needs no secret on this node (it finds its own), and takes one on any
other. Once every holder answered, the secret is forgotten; while some did not, it is kept, so
that asking again finishes the job.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Callable
from dataclasses import replace

from chordshare.errors import Conflict, NotFound
from chordshare.model.manifest import FileManifest
from chordshare.model.records import RecordKey
from chordshare.model.removal import new_secret, removal_key
from chordshare.node.records.jobs import Publisher
from chordshare.node.records.node import RecordNode
from chordshare.node.transfer.remove import RemovalReport, Remover
from chordshare.node.transfer.upload import Uploader, UploadResult
from chordshare.storage.files.removal import RemovalStore
from chordshare.transport.ports.transfer import TransferClient


class NodeRemoval:
    def __init__(
        self,
        store: RemovalStore,
        records: RecordNode,
        uploader: Uploader,
        client: TransferClient,
        publisher: Publisher,
        provides: Callable[[RecordKey], bool],
    ) -> None:
        self.store = store
        self.records = records
        self.uploader = uploader
        self.publisher = publisher
        self.provides = provides
        self.remover = Remover(records, client)

    async def removed(self, manifest: FileManifest) -> None:
        """A removal dropped this node's copy: withdraw its provider entry at once (unless it
        still serves the same file otherwise, from its shared directory)."""
        if not self.provides(RecordKey(manifest.name, manifest.content_hash)):
            await self.publisher.withdraw([manifest])

    async def upload(self, name: str, data: AsyncIterable[bytes]) -> UploadResult:
        """Upload with a fresh removal secret: kept here, and in the result for the uploader."""
        secret = new_secret()
        result = await self.uploader.upload_stream(data, name, (removal_key(secret),))
        content = result.record.manifest.content_hash
        await asyncio.to_thread(self.store.add_secret, result.record.name, content, secret)
        return replace(result, removal_secret=secret)

    async def remove(
        self, name: str, content_hash: bytes | None, secret: bytes | None
    ) -> RemovalReport:
        """Remove the upload of ``name`` (of that content, when given) that ``secret`` belongs
        to, or, without a secret, the one this node accepted. NotFound when this node has no
        secret for it (or the network knows no such upload), Conflict when the name has
        several candidates and no content hash says which, NotPermitted for a wrong secret."""
        if secret is not None:
            content = content_hash or await self._only_variant(name)
            report = await self.remover.remove(name, content, secret)
            if report.complete:
                await asyncio.to_thread(self.store.drop_secret, name, content, secret)
            return report
        own = await asyncio.to_thread(self.store.secrets, name)
        if content_hash is not None:
            own = [(c, s) for c, s in own if c == content_hash]
        if not own:
            raise NotFound(
                f"this node keeps no removal secret for an upload of {name!r}"
                + (f" with content hash {content_hash.hex()}" if content_hash else "")
                + ": remove it through the node that accepted it, or give its secret"
            )
        contents = list(dict.fromkeys(c for c, _ in own))
        if len(contents) > 1:
            raise Conflict(
                f"this node accepted {len(contents)} different uploads of {name!r}; say which "
                f"with its content hash: {', '.join(c.hex() for c in contents)}"
            )
        report = RemovalReport(name, contents[0])
        for content, mine in own:
            found = await self.remover.remove(name, content, mine)
            if found.complete:
                await asyncio.to_thread(self.store.drop_secret, name, content, mine)
            _merge(report, found)
        return report

    async def _only_variant(self, name: str) -> bytes:
        variants = await self.records.find(name)
        contents = list(dict.fromkeys(r.manifest.content_hash for r in variants))
        if not contents:
            raise NotFound(f"the network knows no file named {name!r}")
        if len(contents) > 1:
            raise Conflict(
                f"the network holds {len(contents)} different contents named {name!r}; say "
                f"which with its content hash: {', '.join(c.hex() for c in contents)}"
            )
        return contents[0]


def _merge(into: RemovalReport, found: RemovalReport) -> None:
    into.removed.extend(found.removed)
    into.kept.extend(found.kept)
    into.not_held.extend(found.not_held)
    into.refused.update(found.refused)
    into.unreachable.update(found.unreachable)
    into.rounds = max(into.rounds, found.rounds)
