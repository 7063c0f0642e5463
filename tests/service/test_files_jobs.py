"""The periodic file-sharing work: publishes that fail are retried at the next rescan, repair runs
on its period and promptly after the node's range changed, upload holders come from the owner's
own successor list."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chordshare.api.schemas.files import file_uri
from chordshare.errors import InvalidInput, LookupFailed
from chordshare.model.manifest import FileManifest, FileRecord
from chordshare.node.records.jobs import REPAIR_EVERY, Publisher, RepairPacer
from chordshare.node.records.node import RecordNode
from chordshare.node.transfer.holders import HolderLocator
from chordshare.ring import PeerRef
from tests.api.files_helpers import FilesRing, make_ring

ME = PeerRef(7, "127.0.0.1:7000", "http://127.0.0.1:8000")


class FlakyRecords:
    """Stands in for a RecordNode: fails the first ``failures`` publishes of each name."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.published: list[FileRecord] = []
        self.attempts: dict[str, int] = {}

    async def publish(self, record: FileRecord) -> None:
        self.attempts[record.name] = self.attempts.get(record.name, 0) + 1
        if self.attempts[record.name] <= self.failures:
            raise self.error
        self.published.append(record)


def manifest(name: str) -> FileManifest:
    return FileManifest(name, 0, 1 << 20, ())


async def test_failed_publishes_are_remembered_for_a_retry() -> None:
    flaky = FlakyRecords(1, LookupFailed("ring in flux"))
    publisher = Publisher(flaky, ME, 60.0, lambda: 1000.0, file_uri)  # type: ignore[arg-type]
    assert await publisher.publish_own([manifest("a"), manifest("b"), manifest("a")]) == 0
    assert await publisher.publish_own([manifest("c")], pinned=True) == 0
    retry = publisher.take_failed()
    assert sorted((m.name, pinned) for m, pinned in retry) == [
        ("a", False),
        ("b", False),
        ("c", True),
    ]
    assert publisher.take_failed() == []
    assert await publisher.publish_own([m for m, pinned in retry if not pinned]) == 2
    (first, *_) = flaky.published
    (provider,) = first.providers
    assert (provider.node_id, provider.expires_at, provider.pinned) == (7, 1060.0, False)
    assert provider.uri == f"http://127.0.0.1:8000/api/v1/files/{first.name}"


async def test_withdrawals_publish_tombstones_and_are_not_retried() -> None:
    flaky = FlakyRecords(1, LookupFailed("ring in flux"))
    publisher = Publisher(flaky, ME, 60.0, lambda: 1000.0, file_uri)  # type: ignore[arg-type]
    assert await publisher.withdraw([manifest("a")]) == 0
    assert publisher.take_failed() == []  # a lost tombstone lapses with the entry's TTL
    assert await publisher.withdraw([manifest("a")]) == 1
    (stone,) = flaky.published[-1].providers
    assert (stone.node_id, stone.withdrawn) == (7, True)
    assert stone.expires_at == math.nextafter(1060.0, math.inf)  # beats an entry made now


async def test_records_that_can_never_be_published_are_not_retried() -> None:
    flaky = FlakyRecords(5, InvalidInput("too many pieces"))
    publisher = Publisher(flaky, ME, 60.0, time.time, file_uri)  # type: ignore[arg-type]
    assert await publisher.publish_own([manifest("huge")]) == 0
    assert publisher.take_failed() == []


@pytest.fixture
async def ring(tmp_path: Path) -> AsyncIterator[FilesRing]:
    ring = await make_ring(tmp_path / "nodes", 4)
    yield ring
    await ring.close()


async def test_repair_runs_on_its_period_and_when_the_range_changes(ring: FilesRing) -> None:
    records: RecordNode = ring.members[0].files.records
    clock = ring.cluster.clock
    pacer = RepairPacer(records, clock, stabilize_interval=1.0)
    records.repair_wanted.clear()
    await pacer.step()
    assert pacer.rounds == 1  # the first step always repairs
    await pacer.step()
    assert pacer.rounds == 1
    records.repair_wanted.set()  # e.g. a new predecessor
    await pacer.step()
    assert pacer.rounds == 2
    assert not records.repair_wanted.is_set()
    await clock.advance(REPAIR_EVERY * 1.0)
    await pacer.step()
    assert pacer.rounds == 3


async def test_upload_candidates_are_the_owner_and_its_own_successors(ring: FilesRing) -> None:
    for member in ring.members:
        locator = HolderLocator(member.node, 3)
        for i in range(20):
            key = ring.cluster.space.hash_key(f"name-{i}")
            found = await locator.find_successor(key)
            want = ring.holders(f"name-{i}", 3)
            assert [found.owner.id, *(p.id for p in found.successors)][:3] == want
