"""The file routes over a real ring of NodeFiles on the in-memory network: this node's files,
records, download through a node with Range, listing, not-found and all-providers-down."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chordshare.api.schemas.files import HeldFiles, NetworkFile, NetworkFileNames
from tests.api.files_helpers import PIECE, FilesRing, Member, make_ring

SIZE = 300_000


@pytest.fixture
async def ring(tmp_path: Path) -> AsyncIterator[FilesRing]:
    ring = await make_ring(tmp_path / "nodes", 4)
    yield ring
    await ring.close()


async def share(member: Member, name: str, size: int = SIZE, seed: int = 1) -> bytes:
    content = random.Random(seed).randbytes(size)
    member.shared.mkdir(parents=True, exist_ok=True)
    (member.shared / name).write_bytes(content)
    await member.files.rescan()
    return content


async def test_a_shared_file_is_found_and_fetched_through_another_node(ring: FilesRing) -> None:
    a, b, c = ring.members[:3]
    content = await share(a, "song.ogg")
    async with b.http() as http:
        answer = await http.get("/api/v1/network/files/song.ogg")
        assert answer.status_code == 200
        found = NetworkFile.model_validate_json(answer.content)
        assert found.key_id == ring.cluster.space.hex(ring.cluster.space.hash_key("song.ogg"))
        (record,) = found.records
        assert (record.size, record.pieces) == (SIZE, -(-SIZE // record.piece_size))
        assert [p.node_id for p in record.providers] == [ring.cluster.space.hex(a.node.me.id)]
        assert record.providers[0].uri == f"{a.node.me.http_url}/api/v1/files/song.ogg"
        shared = a.files.index.by_name("song.ogg")
        assert shared is not None
        assert record.to_record().manifest == shared.manifest

        body = await http.get("/api/v1/network/files/song.ogg/content")
        assert body.status_code == 200
        assert body.content == content
        assert body.headers["x-chordshare-content-hash"] == record.content_hash
        assert body.headers["accept-ranges"] == "bytes"

        held = HeldFiles.model_validate_json((await http.get("/api/v1/files")).content)
        assert [(f.name, f.source, f.size) for f in held.files] == [("song.ogg", "store", SIZE)]
    # b announced itself: the record now lists both providers.
    await b.files.idle()
    async with c.http() as http:
        found = NetworkFile.model_validate_json(
            (await http.get("/api/v1/network/files/song.ogg")).content
        )
    space = ring.cluster.space
    assert {p.node_id for p in found.records[0].providers} == {
        space.hex(a.node.me.id),
        space.hex(b.node.me.id),
    }


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [
        ("bytes=1000-1999", 1000, 2000),
        ("bytes=299990-", 299_990, SIZE),
        ("bytes=-10", SIZE - 10, SIZE),
        ("bytes=0-0", 0, 1),
        ("bytes=299999-400000", 299_999, SIZE),
    ],
)
async def test_content_ranges(ring: FilesRing, header: str, start: int, stop: int) -> None:
    a, b = ring.members[:2]
    content = await share(a, "film.mkv")
    async with b.http() as http:
        answer = await http.get("/api/v1/network/files/film.mkv/content", headers={"Range": header})
    assert answer.status_code == 206
    assert answer.content == content[start:stop]
    assert answer.headers["content-range"] == f"bytes {start}-{stop - 1}/{SIZE}"


@pytest.mark.parametrize(
    "header",
    ["bytes=300000-", "bytes=400000-500000", "bytes=5-2", "bytes=-0", "items=0-1", "bytes=abc"],
)
async def test_bad_ranges_are_416_before_and_after_the_download(
    ring: FilesRing, header: str
) -> None:
    a, b = ring.members[:2]
    await share(a, "film.mkv")
    async with b.http() as http:
        for copy in (False, True):  # first without a local copy (nothing fetched), then with
            answer = await http.get(
                "/api/v1/network/files/film.mkv/content", headers={"Range": header}
            )
            assert answer.status_code == 416, answer.text
            assert answer.headers["content-range"] == f"bytes */{SIZE}"
            assert answer.json()["detail"]
            assert (b.files.held_file("film.mkv") is not None) == copy
            await http.get("/api/v1/network/files/film.mkv/content")


async def test_own_copy_is_served_with_range(ring: FilesRing) -> None:
    a = ring.members[0]
    content = await share(a, "notes.txt", size=5000)
    async with a.http() as http:
        whole = await http.get("/api/v1/files/notes.txt")
        part = await http.get("/api/v1/files/notes.txt", headers={"Range": "bytes=10-19"})
        listing = HeldFiles.model_validate_json((await http.get("/api/v1/files")).content)
        other = await http.get("/api/v1/files/notes.txt", params={"content_hash": "0" * 64})
    assert whole.status_code == 200
    assert whole.content == content
    assert whole.headers["content-type"].startswith("text/plain")
    assert part.status_code == 206
    assert part.content == content[10:20]
    (held,) = listing.files
    assert (held.name, held.source, held.size) == ("notes.txt", "shared", 5000)
    assert held.uri == f"{a.node.me.http_url}/api/v1/files/notes.txt"
    assert other.status_code == 404


async def test_unknown_files_are_404(ring: FilesRing) -> None:
    async with ring.members[1].http() as http:
        for path in (
            "/api/v1/files/nothing.txt",
            "/api/v1/network/files/nothing.txt",
            "/api/v1/network/files/nothing.txt/content",
        ):
            answer = await http.get(path)
            assert answer.status_code == 404, path
            assert answer.json()["error"] == "NotFound"
            assert "nothing.txt" in answer.json()["detail"]


async def test_providers_all_down_is_503(ring: FilesRing) -> None:
    a, b = ring.members[:2]
    await share(a, "gone.bin")
    ring.crash(a)
    async with b.http() as http:
        answer = await http.get("/api/v1/network/files/gone.bin/content")
    assert answer.status_code == 503
    assert answer.json()["error"] == "PeerUnavailable"
    assert "no provider could serve gone.bin" in answer.json()["detail"]
    assert b.files.held_file("gone.bin") is None


async def test_two_files_under_one_name_pick_by_content_hash(ring: FilesRing) -> None:
    a, b, c = ring.members[:3]
    first = await share(a, "same.txt", size=3000, seed=1)
    second = await share(b, "same.txt", size=4000, seed=2)
    async with c.http() as http:
        found = NetworkFile.model_validate_json(
            (await http.get("/api/v1/network/files/same.txt")).content
        )
        by_size = {r.size: r.content_hash for r in found.records}
        assert set(by_size) == {3000, 4000}
        for size, content in ((3000, first), (4000, second)):
            answer = await http.get(
                "/api/v1/network/files/same.txt/content",
                params={"content_hash": by_size[size]},
            )
            assert answer.content == content
        unknown = await http.get(
            "/api/v1/network/files/same.txt/content", params={"content_hash": "ab" * 32}
        )
    assert unknown.status_code == 404


async def test_network_names_page_with_a_cursor(ring: FilesRing) -> None:
    names = sorted(f"file-{i}.txt" for i in range(7))
    for i, name in enumerate(names):
        await share(ring.members[i % 4], name, size=100, seed=i)
    seen: list[str] = []
    after = ""
    async with ring.members[3].http() as http:
        for _ in range(10):
            params: dict[str, str | int] = {"limit": 3, **({"after": after} if after else {})}
            page = NetworkFileNames.model_validate_json(
                (await http.get("/api/v1/network/files", params=params)).content
            )
            seen += page.names
            if page.next_after is None:
                break
            after = page.next_after
        bad_cursor = await http.get("/api/v1/network/files", params={"after": "../x"})
        bad_limit = await http.get("/api/v1/network/files", params={"limit": 0})
    assert seen == names
    assert bad_cursor.status_code == 400
    assert bad_cursor.json()["error"] == "InvalidName"
    assert bad_limit.status_code == 422


async def test_openapi_documents_the_file_routes(ring: FilesRing) -> None:
    async with ring.members[0].http() as http:
        spec = (await http.get("/openapi.json")).json()
    documented = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert documented >= {
        ("get", "/api/v1/files"),
        ("get", "/api/v1/files/{name}"),
        ("get", "/api/v1/network/files"),
        ("get", "/api/v1/network/files/{name}"),
        ("put", "/api/v1/network/files/{name}"),
        ("get", "/api/v1/network/files/{name}/content"),
    }
    assert "files" in {t["name"] for t in spec["tags"]}
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    put = spec["paths"]["/api/v1/network/files/{name}"]["put"]["responses"]
    assert put["201"]["content"]["application/json"]["schema"]["$ref"].endswith("UploadAnswer")


async def test_concurrent_reads_share_one_download(ring: FilesRing) -> None:
    a, b = ring.members[:2]
    content = await share(a, "popular.bin")
    async with b.http() as http:
        answers = await asyncio.gather(
            *(http.get("/api/v1/network/files/popular.bin/content") for _ in range(5))
        )
    assert all(r.status_code == 200 and r.content == content for r in answers)
    pieces = -(-SIZE // PIECE)
    assert a.files.transfer.stats.pieces_served == pieces  # fetched once, not five times
