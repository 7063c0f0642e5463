"""PUT /api/v1/network/files/{name} over a real ring of NodeFiles on the in-memory network: the
file lands on the owner of its name and the next k-1 nodes, the reply names them, the body is
streamed and bounded (413), and the uploader leaving loses nothing."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chordshare.api.schemas.files import NetworkFile, UploadAnswer
from tests.api.files_helpers import FilesRing, files_under, make_ring

K = 3


@pytest.fixture
async def ring(tmp_path: Path) -> AsyncIterator[FilesRing]:
    ring = await make_ring(tmp_path / "nodes", 5)
    yield ring
    await ring.close()


async def blocks(content: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(content), size):
        yield content[i : i + size]


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
async def test_upload_lands_on_owner_and_successors(ring: FilesRing, streamed: bool) -> None:
    uploader = ring.members[1]
    content = random.Random(5).randbytes(250_000)
    body = blocks(content, 7777) if streamed else content
    async with uploader.http() as http:
        answer = await http.put("/api/v1/network/files/report.pdf", content=body)
    assert answer.status_code == 201, answer.text
    reply = UploadAnswer.model_validate_json(answer.content)
    space = ring.cluster.space
    expected = ring.holders("report.pdf", K)
    assert [int(h.id, 16) for h in reply.holders] == expected
    assert reply.failed == {}
    assert [int(p.node_id, 16) for p in reply.record.providers] == expected
    assert reply.record.size == len(content)
    for ident in expected:
        stored = ring.member(ident).files.blobs.latest("report.pdf")
        assert stored is not None
        assert stored.path.read_bytes() == content
    assert files_under(uploader.data / "spool") == set()
    # Findable from a node that holds nothing, and fetched from the holders.
    outsider = next(m for m in ring.members if m.node.me.id not in expected)
    async with outsider.http() as http:
        found = NetworkFile.model_validate_json(
            (await http.get("/api/v1/network/files/report.pdf")).content
        )
        fetched = await http.get("/api/v1/network/files/report.pdf/content")
    assert {int(p.node_id, 16) for p in found.records[0].providers} >= set(expected)
    assert found.key_id == space.hex(space.hash_key("report.pdf"))
    assert fetched.content == content


async def test_the_uploader_leaving_loses_nothing(ring: FilesRing) -> None:
    name = next(
        f"doc-{i}.txt"
        for i in range(1000)
        if ring.members[0].node.me.id not in ring.holders(f"doc-{i}.txt", K)
    )
    uploader = ring.members[0]
    content = random.Random(6).randbytes(100_000)
    async with uploader.http() as http:
        assert (await http.put(f"/api/v1/network/files/{name}", content=content)).status_code == 201
    await uploader.files.hand_off()
    await ring.cluster.leave(uploader.node)
    ring.members.remove(uploader)
    await ring.converge()
    reader = next(m for m in ring.members if m.node.me.id not in ring.holders(name, K))
    async with reader.http() as http:
        fetched = await http.get(f"/api/v1/network/files/{name}/content")
    assert fetched.status_code == 200
    assert fetched.content == content


async def test_a_body_over_the_limit_is_413_and_leaves_nothing(tmp_path: Path) -> None:
    ring = await make_ring(tmp_path / "nodes", 2, max_file_bytes=100_000)
    try:
        node = ring.members[0]
        before = files_under(tmp_path)
        content = bytes(150_000)
        async with node.http() as http:
            declared = await http.put("/api/v1/network/files/big.bin", content=content)
            streamed = await http.put(
                "/api/v1/network/files/big.bin", content=blocks(content, 10_000)
            )
            after = files_under(tmp_path)
            exact = await http.put("/api/v1/network/files/fits.bin", content=bytes(100_000))
        for answer in (declared, streamed):
            assert answer.status_code == 413, answer.text
            assert answer.json()["error"] == "LimitExceeded"
            assert "100000 bytes" in answer.json()["detail"]
        assert after == before
        assert exact.status_code == 201
    finally:
        await ring.close()


async def test_a_malformed_content_length_is_400(ring: FilesRing) -> None:
    async with ring.members[0].http() as http:
        answer = await http.put(
            "/api/v1/network/files/x.bin", content=b"abc", headers={"Content-Length": "3x"}
        )
    assert answer.status_code == 400, answer.text
    assert "Content-Length" in answer.json()["detail"]


async def test_an_empty_file_uploads_and_downloads(ring: FilesRing) -> None:
    async with ring.members[2].http() as http:
        put = await http.put("/api/v1/network/files/empty.txt", content=b"")
        got = await http.get("/api/v1/network/files/empty.txt/content")
        ranged = await http.get(
            "/api/v1/network/files/empty.txt/content", headers={"Range": "bytes=0-"}
        )
    assert put.status_code == 201
    assert UploadAnswer.model_validate_json(put.content).record.pieces == 0
    assert got.status_code == 200
    assert got.content == b""
    assert ranged.status_code == 416
