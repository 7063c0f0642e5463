"""Content addressing in real nodes (NodeService: gRPC and REST on loopback): two uploads under
one name are two contents, each kept by its holders and readable by its hash; a holder whose
pinned quota is full refuses an upload and the uploader takes the next successor instead."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from chordshare.api.schemas.files import UploadAnswer
from chordshare.node.ring.chord import ChordNode
from chordshare.storage.files.blobs import BlobStore
from tests.service.conftest import AUTH, Running, until, wait_ring
from tests.service.test_files_service import dirs, files_of, holders, node_id

FILES = "/api/v1/network/files"


def node_of(running: Running) -> ChordNode:
    assert running.service.node is not None
    return running.service.node


async def put(url: str, name: str, content: bytes) -> UploadAnswer:
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=AUTH) as http:
        answer = await http.put(f"{FILES}/{name}", content=content)
    assert answer.status_code == 201, answer.text
    return UploadAnswer.model_validate_json(answer.content)


async def get(url: str, name: str, content_hash: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=AUTH) as http:
        return await http.get(f"{FILES}/{name}/content", params={"content_hash": content_hash})


async def test_two_uploads_under_one_name_both_stay_readable(
    launch: Callable[..., Any], tmp_path: Path
) -> None:
    k = 2
    a = await launch(replication_factor=k, **dirs(tmp_path, "a"))
    b = await launch(seeds=[a.url], replication_factor=k, **dirs(tmp_path, "b"))
    c = await launch(seeds=[a.url], replication_factor=k, **dirs(tmp_path, "c"))
    await wait_ring(a, 3)
    nodes = [a, b, c]
    expected = holders(a.service, [node_id(n) for n in nodes], "same.txt", k)
    v1 = random.Random(1).randbytes(100_000)
    v2 = random.Random(2).randbytes(80_000)

    first = await put(a.url, "same.txt", v1)
    second = await put(a.url, "same.txt", v2)

    assert [int(h.id, 16) for h in first.holders] == expected
    assert [int(h.id, 16) for h in second.holders] == expected
    both = {first.record.content_hash, second.record.content_hash}
    for running in nodes:  # the holders serve their copies; the third fetches each variant
        for answer, content in ((first, v1), (second, v2)):
            got = await get(running.url, "same.txt", answer.record.content_hash)
            assert got.status_code == 200, got.text
            assert got.content == content
        blobs = files_of(running).blobs

        async def holds_both(blobs: BlobStore = blobs) -> bool:
            # a fetched file may be served while its download is still being stored
            return {s.manifest.content_hash.hex() for s in blobs.by_name("same.txt")} == both

        await until(running, holds_both, 10, "both variants stored")
        kinds = {s.kind for s in blobs.by_name("same.txt")}
        assert kinds == ({"pinned"} if node_id(running) in expected else {"cached"})


async def test_an_upload_skips_a_full_holder_for_the_next_successor(
    launch: Callable[..., Any], tmp_path: Path
) -> None:
    full = await launch(pinned_quota=50_000, **dirs(tmp_path, "full"))
    nodes = [full]
    for i in range(3):
        nodes.append(await launch(seeds=[full.url], **dirs(tmp_path, f"n{i}")))
    await wait_ring(full, 4)

    async def successor_lists_full() -> bool:  # the uploader's candidates: owner + successors
        return all(len(node_of(n).table.successors) == 3 for n in nodes)

    await until(full, successor_lists_full, 15, "every successor list holding the 3 others")
    ids = [node_id(n) for n in nodes]
    name = next(
        f"big-{i}.bin"
        for i in range(1000)
        if holders(full.service, ids, f"big-{i}.bin", 1) == [node_id(full)]
    )  # the full node owns the name: the first candidate
    content = random.Random(3).randbytes(60_000)

    answer = await put(nodes[1].url, name, content)

    in_order = holders(full.service, ids, name, 4)
    assert [int(h.id, 16) for h in answer.holders] == in_order[1:]
    (reason,) = answer.failed.values()
    assert "storage full: 0 of 50000 pinned bytes used" in reason
    assert files_of(full).blobs.files() == []
    assert files_of(full).blobs.usage().pinned_bytes == 0
