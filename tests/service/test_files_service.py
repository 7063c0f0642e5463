"""File sharing in real nodes (NodeService: gRPC and REST on loopback, one event loop): shared
files found and fetched through another node, uploads on the owner and its successors, graceful
leave hands records on, a restart keeps records and hashes, rescans notice added and removed
files."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chordshare.api.schemas.files import NetworkFile
from chordshare.client.rest import AsyncNodeApi
from chordshare.errors import ConfigError, NotFound
from chordshare.service.files import NodeFiles
from chordshare.service.node_service import NodeService
from tests.service.conftest import TOKEN, Running, config, new_host, until, wait_ring

PIECE = 16 << 10
"""Small pieces: files of a few hundred KiB span many, spread over several providers."""


def dirs(root: Path, name: str, **values: Any) -> dict[str, Any]:
    return {
        "shared_dir": root / name / "shared",
        "data_dir": root / name / "data",
        "piece_size": PIECE,
        "max_file_bytes": 64 << 20,
        **values,
    }


def files_of(running: Running) -> NodeFiles:
    assert running.service.files is not None
    return running.service.files


def node_id(running: Running) -> int:
    assert running.service.node is not None
    return running.service.node.me.id


def holders(service: NodeService, ring: list[int], name: str, k: int) -> list[int]:
    """The owner of ``name`` among the ids ``ring`` and the next k-1."""
    ids = sorted(ring)
    key = service.space.hash_key(name)
    first = next((i for i, ident in enumerate(ids) if ident >= key), 0)
    return [ids[(first + j) % len(ids)] for j in range(k)]


async def find(url: str, name: str) -> NetworkFile | None:
    async with AsyncNodeApi(url) as api:
        try:
            return await api.network_file(name)
        except NotFound:
            return None


async def read(url: str, name: str, byte_range: tuple[int, int | None] | None = None) -> bytes:
    async with AsyncNodeApi(url) as api, api.content(name, byte_range=byte_range) as body:
        return b"".join([block async for block in body.aiter_bytes()])


async def test_a_shared_file_is_found_fetched_and_then_provided_by_the_fetcher(
    launch: Callable[..., Any], tmp_path: Path
) -> None:
    content = random.Random(1).randbytes(700_000)
    (tmp_path / "a" / "shared").mkdir(parents=True)
    (tmp_path / "a" / "shared" / "holiday.jpg").write_bytes(content)
    a = await launch(**dirs(tmp_path, "a"))
    b = await launch(seeds=[a.url], **dirs(tmp_path, "b"))
    c = await launch(seeds=[b.url], **dirs(tmp_path, "c"))
    await wait_ring(a, 3)

    async def found_from_c() -> bool:
        return await find(c.url, "holiday.jpg") is not None

    await until(a, found_from_c, 10, "holiday.jpg findable from c")
    answer = await find(c.url, "holiday.jpg")
    assert answer is not None
    (record,) = answer.records
    assert [int(p.node_id, 16) for p in record.providers] == [node_id(a)]
    assert record.providers[0].uri == f"{a.url}/api/v1/files/holiday.jpg"
    assert await read(c.url, "holiday.jpg", (1000, 1999)) == content[1000:2000]
    assert await read(c.url, "holiday.jpg") == content
    assert await read(c.url, "holiday.jpg", (699_000, None)) == content[699_000:]

    async def c_provides() -> bool:
        found = await find(b.url, "holiday.jpg")
        return found is not None and {int(p.node_id, 16) for p in found.records[0].providers} == {
            node_id(a),
            node_id(c),
        }

    await until(c, c_provides, 10, "c listed as a provider")


async def test_upload_goes_to_owner_and_successor_and_outlives_the_uploader(
    launch: Callable[..., Any], tmp_path: Path
) -> None:
    k = 2
    nodes = [await launch(replication_factor=k, **dirs(tmp_path, "n0"))]
    for i in range(1, 4):
        nodes.append(
            await launch(seeds=[nodes[0].url], replication_factor=k, **dirs(tmp_path, f"n{i}"))
        )
    await wait_ring(nodes[0], 4)
    ids = [node_id(n) for n in nodes]
    uploader = nodes[1]
    name = next(
        f"upload-{i}.bin"
        for i in range(1000)
        if ids[1] not in holders(uploader.service, ids, f"upload-{i}.bin", k)
    )
    expected = holders(uploader.service, ids, name, k)
    content = random.Random(2).randbytes(333_333)
    async with AsyncNodeApi(uploader.url, token=TOKEN) as api:
        answer = await api.put(name, content)
    assert [int(h.id, 16) for h in answer.holders] == expected
    assert [int(p.node_id, 16) for p in answer.record.providers] == expected
    for running in nodes:
        stored = files_of(running).blobs.latest(name)
        if node_id(running) in expected:
            assert stored is not None
            assert stored.path.read_bytes() == content
        else:
            assert stored is None

    uploader.service.request_stop("test: the uploader leaves")
    assert await asyncio.wait_for(uploader.task, 10) == 0
    reader = next(n for n in nodes if node_id(n) not in (*expected, ids[1]))
    assert await read(reader.url, name) == content


async def test_graceful_leave_hands_records_to_the_successor(
    launch: Callable[..., Any], tmp_path: Path
) -> None:
    """k = 1: a record lives on its owner only, so after the owner leaves it is findable only
    because the owner handed it on (republishing is an hour away)."""
    values = {"replication_factor": 1, "republish_interval": 3000.0, "provider_ttl": 3600.0}
    nodes = [await launch(**dirs(tmp_path, "n0", **values))]
    for i in range(1, 3):
        nodes.append(await launch(seeds=[nodes[0].url], **dirs(tmp_path, f"n{i}", **values)))
    await wait_ring(nodes[0], 3)
    ids = [node_id(n) for n in nodes]
    sharer = nodes[0]
    name = next(
        f"shared-{i}.txt"
        for i in range(1000)
        if holders(sharer.service, ids, f"shared-{i}.txt", 1)[0] != ids[0]
    )
    owner_id, heir_id = holders(sharer.service, ids, name, 2)  # the owner and its successor
    owner, heir = nodes[ids.index(owner_id)], nodes[ids.index(heir_id)]
    (files_of(sharer).config.shared_dir / name).write_bytes(b"handed over\n")
    await files_of(sharer).rescan()
    assert len(await files_of(owner).store.get(name)) == 1
    if heir is not sharer:
        assert await files_of(heir).store.get(name) == []

    owner.service.request_stop("test: the owner leaves")
    assert await asyncio.wait_for(owner.task, 10) == 0
    assert len(await files_of(heir).store.get(name)) == 1
    await wait_ring(sharer, 2)
    found = await find(sharer.url, name)
    assert found is not None
    assert [int(p.node_id, 16) for p in found.records[0].providers] == [ids[0]]
    reader = next(n for n in nodes if n is not owner)
    assert await read(reader.url, name) == b"handed over\n"


async def test_a_restart_keeps_records_blobs_and_hashes(
    launch: Callable[..., Any], tmp_path: Path
) -> None:
    values = dirs(tmp_path, "solo")
    (tmp_path / "solo" / "shared").mkdir(parents=True)
    (tmp_path / "solo" / "shared" / "kept.txt").write_bytes(b"kept\n" * 1000)
    first = await launch(listen_host=new_host(), **values)
    assert files_of(first).last_scan is not None
    assert files_of(first).last_scan.hashed == 1
    async with AsyncNodeApi(first.url, token=TOKEN) as api:
        await api.put("uploaded.bin", b"uploaded\n" * 1000)
    old_id = node_id(first)
    first.service.request_stop("test: restart")
    assert await asyncio.wait_for(first.task, 10) == 0

    # Back on another address: a new identity (the id hashes the gRPC address) on the same data.
    second = await launch(listen_host=new_host(), **values)
    assert node_id(second) != old_id
    scan = files_of(second).last_scan
    assert scan is not None
    assert (len(scan.files), scan.hashed) == (1, 0)
    found = await find(second.url, "uploaded.bin")
    assert found is not None
    # The old id withdrew its entry when it left (its tombstone came back from SQLite with the
    # record, so readers are not sent to the old address); the new id announced itself at start.
    assert {int(p.node_id, 16) for p in found.records[0].providers} == {node_id(second)}
    async with AsyncNodeApi(second.url) as api:
        held = {(f.name, f.source) for f in (await api.files()).files}
    assert held == {("kept.txt", "shared"), ("uploaded.bin", "store")}
    assert await read(second.url, "uploaded.bin") == b"uploaded\n" * 1000


async def test_rescans_publish_added_files_and_let_removed_ones_lapse(
    launch: Callable[..., Any], tmp_path: Path
) -> None:
    values = {"rescan_interval": 0.2, "provider_ttl": 2.0, "republish_interval": 0.5}
    (tmp_path / "a" / "shared").mkdir(parents=True)
    (tmp_path / "a" / "shared" / "old.txt").write_bytes(b"old\n")
    a = await launch(**dirs(tmp_path, "a", **values))
    b = await launch(seeds=[a.url], **dirs(tmp_path, "b", **values))
    await wait_ring(a, 2)
    shared = files_of(a).config.shared_dir
    (shared / "new.txt").write_bytes(b"new\n")
    (shared / "old.txt").unlink()

    async def new_found() -> bool:
        return await find(b.url, "new.txt") is not None

    async def old_gone() -> bool:
        return await find(b.url, "old.txt") is None

    await until(a, new_found, 10, "new.txt published by a rescan")
    async with AsyncNodeApi(a.url) as api:
        assert {f.name for f in (await api.files()).files} == {"new.txt"}
    assert await read(b.url, "new.txt") == b"new\n"
    await until(a, old_gone, 10, "old.txt's provider entry lapsing")


async def test_a_directory_that_cannot_be_created_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    service = NodeService(
        config(shared_dir=blocker / "shared", data_dir=tmp_path / "data"), announce=print
    )
    with pytest.raises(ConfigError, match="cannot create"):
        await asyncio.wait_for(service.run(), 10)
    assert not service.ready.is_set()
