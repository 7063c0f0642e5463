"""Cached copies on the in-memory ring: a reader's node caches what it fetched and provides it,
withdraws what its cache quota evicts (at once, not at the provider TTL), and refuses a file
larger than its whole cache with LimitExceeded (507 over REST), not as a provider failure."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chordshare.errors import LimitExceeded
from tests.checker.harness import FilesCluster, Member, content_hash

RING = 5
CACHE = 80_000


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[FilesCluster]:
    ring = FilesCluster(tmp_path, seed=3, cache_quota=CACHE)
    await ring.grow(RING)
    yield ring
    await ring.close()


async def providers_of(cluster: FilesCluster, name: str, content: bytes) -> set[int]:
    (record,) = [
        r
        for r in await cluster.live()[0].running()[1].find(name)
        if r.manifest.content_hash == content_hash(content)
    ]
    return {p.node_id for p in record.providers}


def reader_of(cluster: FilesCluster, *names: str) -> Member:
    """A live member that holds none of ``names``."""
    holding = {m.name for name in names for m in cluster.holders(name)}
    return next(m for m in cluster.live() if m.name not in holding)


async def test_an_evicted_copy_is_withdrawn_at_once(cluster: FilesCluster) -> None:
    rng = random.Random(8)
    first, second = rng.randbytes(50_000), rng.randbytes(50_000)
    uploader = cluster.live()[0]
    await cluster.upload(uploader, "first.bin", first)
    await cluster.upload(uploader, "second.bin", second)
    await cluster.repair_period()
    reader = reader_of(cluster, "first.bin", "second.bin")

    got = await cluster.read(reader, "first.bin", first)
    assert got is not None
    assert got[0] == first
    await reader.running()[1].idle()
    assert reader.ref.id in await providers_of(cluster, "first.bin", first)

    got = await cluster.read(reader, "second.bin", second)  # evicts first.bin: 2 x 50 kB > 80 kB
    assert got is not None
    assert got[0] == second
    await reader.running()[1].idle()
    blobs = reader.running()[1].blobs
    assert blobs.by_content(content_hash(first)) is None
    assert reader.ref.id not in await providers_of(cluster, "first.bin", first)
    assert reader.ref.id in await providers_of(cluster, "second.bin", second)


async def test_a_file_larger_than_the_cache_is_refused_as_such(cluster: FilesCluster) -> None:
    big = random.Random(9).randbytes(CACHE + 1)
    await cluster.upload(cluster.live()[0], "big.bin", big)
    await cluster.repair_period()
    reader = reader_of(cluster, "big.bin")
    with pytest.raises(LimitExceeded, match="cache"):
        await cluster.read(reader, "big.bin", big)
