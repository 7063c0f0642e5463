"""Bad names through every file route: a 400 naming the problem, and nothing
read or written anywhere, inside the node's directories or outside them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest

from chordshare.model.names import name_problem
from tests.api.files_helpers import FilesRing, files_under, make_ring

BAD_NAMES = [
    "..",
    ".",
    "../outside/secret.txt",
    "../../etc/passwd",
    "/etc/passwd",
    "a/b.txt",
    "x/content",
    "back\\slash.txt",
    "C:drive.txt",
    "nul\x00.txt",
    "bell\x07.txt",
    "line\nbreak.txt",
    "\u202etxt.exe",
    "x" * 256,
    "é" * 128,
]


def routes(name: str) -> list[tuple[str, str]]:
    """Every file route with ``name`` in its path; dots escaped so no client normalizes them."""
    q = quote(name, safe="").replace(".", "%2E")
    return [
        ("GET", f"/api/v1/files/{q}"),
        ("GET", f"/api/v1/network/files/{q}"),
        ("GET", f"/api/v1/network/files/{q}/content"),
        ("PUT", f"/api/v1/network/files/{q}"),
    ]


@pytest.fixture
async def ring(tmp_path: Path) -> AsyncIterator[FilesRing]:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"top secret\n")
    ring = await make_ring(tmp_path / "nodes", 3)
    yield ring
    await ring.close()


@pytest.mark.parametrize("name", BAD_NAMES, ids=[repr(n)[:24] for n in BAD_NAMES])
async def test_bad_names_are_400_with_the_reason_and_touch_nothing(
    ring: FilesRing, tmp_path: Path, name: str
) -> None:
    member = ring.members[1]
    before = files_under(tmp_path)
    async with member.http() as http:
        for method, path in routes(name):
            answer = await http.request(method, path, content=b"payload\n")
            assert answer.status_code == 400, (method, path, answer.text)
            body = answer.json()
            assert body["error"] == "InvalidName", (method, path)
            assert body["detail"] == name_problem(name), (method, path)
            assert "secret" not in answer.text
            assert files_under(tmp_path) == before, (method, path)


async def test_names_that_are_not_utf8_are_400(ring: FilesRing) -> None:
    async with ring.members[0].http() as http:
        for method, path in routes("x"):
            raw = path.replace("/x", "/%FF%FE", 1)
            answer = await http.request(method, raw, content=b"")
            assert answer.status_code == 400, (method, raw)
            assert "UTF-8" in answer.json()["detail"]


async def test_an_encoded_slash_is_part_of_the_name(ring: FilesRing) -> None:
    """``a%2Fcontent`` is the name ``a/content`` (refused), not the content route of ``a``."""
    member = ring.members[0]
    member.shared.mkdir(parents=True, exist_ok=True)
    (member.shared / "a").write_bytes(b"file a\n")
    await member.files.rescan()
    async with member.http() as http:
        content = await http.get("/api/v1/network/files/a/content")
        record_of_slash_name = await http.get("/api/v1/network/files/a%2Fcontent")
        raw_slash = await http.get("/api/v1/network/files/a/b/content")
    assert content.status_code == 200
    assert content.content == b"file a\n"
    assert record_of_slash_name.status_code == 400
    assert raw_slash.status_code == 400


async def test_valid_unusual_names_round_trip(ring: FilesRing) -> None:
    member = ring.members[2]
    names = ["…ellipsis", "spaces and %percent%.txt", "ünïcødé — 名前.txt", "..hidden", "a?b#c"]
    async with member.http() as http:
        for i, name in enumerate(names):
            data = f"{i}:{name}".encode()
            path = f"/api/v1/network/files/{quote(name, safe='')}"
            assert (await http.put(path, content=data)).status_code == 201, name
            assert (await http.get(f"{path}/content")).content == data, name
            assert (await http.get(path)).json()["name"] == name
