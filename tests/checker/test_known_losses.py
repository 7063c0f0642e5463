"""The three ways acknowledged bytes used to be lost, each as one deterministic schedule on a
ring of seven (k = 3): the holders crash one at a time, two contents share a name, the holders
leave one at a time. A repair period separates every two faults, and at most one node is down at
once, so a network that keeps what it acknowledged loses nothing here."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.checker.harness import FilesCluster, K, Member, content_hash

RING = 7

pytestmark = pytest.mark.slow


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[FilesCluster]:
    ring = FilesCluster(tmp_path, seed=7)
    await ring.grow(RING)
    yield ring
    await ring.close()


def bystander(cluster: FilesCluster, name: str, *also_not: Member) -> Member:
    """A live member that is neither a holder of ``name`` nor one of ``also_not``."""
    holders = cluster.holders(name)
    return next(m for m in cluster.live() if m not in holders and m not in also_not)


async def assert_downloadable(cluster: FilesCluster, name: str, content: bytes, why: str) -> None:
    """From every live member: ``name``'s variant with ``content``'s hash, byte-exact."""
    for member in cluster.live():
        got = await cluster.read(member, name, content)
        assert got is not None, f"{why}: {name} ({len(content)} bytes) unknown at {member.name}"
        data, claimed = got
        assert claimed == content_hash(content)
        assert data == content, f"{why}: wrong bytes from {member.name}"


@pytest.mark.parametrize("fault", ["crash", "leave"])
async def test_a_file_outlives_each_of_its_holders_in_turn(
    cluster: FilesCluster, fault: str
) -> None:
    """Each original holder crashes (or leaves gracefully) in turn, with a repair period after
    each: k live nodes hold the bytes every time, and the file downloads at the end."""
    name, content = f"{fault}.bin", random.Random(1).randbytes(50_000)
    uploader = bystander(cluster, name)
    await cluster.upload(uploader, name, content)
    await cluster.repair_period()
    original = cluster.storing(content)
    assert len(original) == K
    copies = [len(original)]
    for number, holder in enumerate(original, 1):
        await (cluster.crash if fault == "crash" else cluster.leave)(holder)
        await cluster.repair_period()
        copies.append(len(cluster.storing(content)))
        assert copies[-1] >= K, (
            f"after {fault} {number} of {K} ({holder.name}) {copies[-1]} live nodes hold the "
            f"bytes (copies after each repair period: {copies})"
        )
    await assert_downloadable(cluster, name, content, f"after a {fault} of all {K} holders")


async def test_two_contents_under_one_name_are_both_kept(cluster: FilesCluster) -> None:
    name = "twice.bin"
    first, second = random.Random(2).randbytes(40_000), random.Random(3).randbytes(30_000)
    uploader = bystander(cluster, name)
    await cluster.upload(uploader, name, first)
    await cluster.upload(uploader, name, second)
    await cluster.repair_period()
    assert len(cluster.storing(first)) >= K, (
        f"first content on {[m.name for m in cluster.storing(first)]} only after the second "
        "upload under its name"
    )
    await assert_downloadable(cluster, name, first, "the first of two uploads")
    await assert_downloadable(cluster, name, second, "the second of two uploads")


async def test_an_owner_without_a_copy_relays_the_bytes(tmp_path: Path) -> None:
    """A node that joins just before a file's key owns its record but not its bytes; after a
    holder crashes it restores k holders by relaying a live holder's bytes into the new
    holder's upload, with a cache far too small to hold the file itself."""
    ring = FilesCluster(tmp_path, seed=11, cache_quota=1024)
    try:
        await ring.grow(RING - 1)
        name, content = "relay.bin", random.Random(5).randbytes(60_000)
        await ring.upload(bystander(ring, name), name, content)
        await ring.repair_period()
        original = ring.storing(content)
        key = ring.space.hash_key(name)
        gap = ring.space.distance(key, ring.holders(name)[0].ref.id)
        newcomer = await ring.add(lambda ident: ring.space.distance(key, ident) < gap)
        await ring.converge()
        assert ring.holders(name)[0] is newcomer
        assert newcomer not in ring.storing(content)
        await ring.crash(original[-1])
        await ring.repair_period()
        holders = ring.storing(content)
        assert len(holders) >= K
        for member in holders:  # the others' caches are too small to fetch it for a reader
            got = await ring.read(member, name, content)
            assert got is not None, f"{name} unknown at {member.name}"
            assert got[0] == content, f"wrong bytes at {member.name}"
    finally:
        await ring.close()
