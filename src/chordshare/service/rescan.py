"""One rescan of ``shared_dir``: what changed on disk becomes what the DHT says.

New and changed files are published (this node as a provider), removed and changed ones
withdrawn (a tombstone over this node's entry for the old content, unless the node still
holds that content under the name elsewhere), so readers stop being sent here before the
provider TTL. Each file published or withdrawn is logged at INFO ("published NAME",
"withdrew NAME"): the operator sees when a file dropped into the directory is findable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chordshare.model.held import HeldFile
from chordshare.model.manifest import FileManifest
from chordshare.node.records.jobs import Publisher
from chordshare.storage.files.index import ScanResult, SharedIndex

log = logging.getLogger(__name__)

PUBLISH_AT_ONCE = 8
"""Files published concurrently by one rescan: a directory of new files is announced in a few
round trips without opening a stream per file to the key owners at once."""


@dataclass(frozen=True, slots=True)
class RescanReport:
    """What a rescan did: the names it published and withdrew, and the scan itself."""

    published: tuple[str, ...]
    withdrawn: tuple[str, ...]
    scan: ScanResult

    @property
    def sharing(self) -> int:
        """Files in the shared directory after the rescan."""
        return len(self.scan.files)


async def rescan_shared(
    index: SharedIndex,
    publisher: Publisher,
    held_file: Callable[[str, bytes], HeldFile | None],
) -> RescanReport:
    """Scan ``index``'s directory and publish/withdraw what changed (see the module)."""
    before = {f.manifest.name: f.manifest for f in index.files()}
    result = await asyncio.to_thread(index.scan)
    fresh = {*result.added, *result.changed}
    gone = [before[n] for n in (*result.removed, *result.changed) if n in before]
    stale = [m for m in gone if held_file(m.name, m.content_hash) is None]
    if await publisher.withdraw(stale) < len(stale):
        log.info("some withdrawals failed; those entries lapse at their provider TTL")
    for name in result.removed:
        log.info("withdrew %s", name)
    published = await _publish_each(
        publisher, [f.manifest for f in result.files if f.manifest.name in fresh]
    )
    for name in published:
        log.info("published %s", name)
    return RescanReport(tuple(published), tuple(result.removed), result)


async def _publish_each(publisher: Publisher, manifests: Sequence[FileManifest]) -> list[str]:
    """Publish each file on its own, to know which made it (a failure is logged by the
    publisher and retried by the next rescan); returns their names, sorted."""
    gate = asyncio.Semaphore(PUBLISH_AT_ONCE)

    async def one(manifest: FileManifest) -> str | None:
        async with gate:
            return manifest.name if await publisher.publish_own([manifest]) else None

    done = await asyncio.gather(*(one(m) for m in manifests))
    return sorted(name for name in done if name is not None)
