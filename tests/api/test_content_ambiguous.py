"""``GET .../content`` of a name two contents share: never a silent pick."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chordshare.model.digest import digest
from chordshare.model.manifest import content_hash
from tests.api.files_helpers import FilesRing, make_ring


@pytest.fixture
async def ring(tmp_path: Path) -> AsyncIterator[FilesRing]:
    ring = await make_ring(tmp_path / "nodes", 4)
    yield ring
    await ring.close()


async def test_two_contents_under_one_name_are_listed_not_picked(ring: FilesRing) -> None:
    a, b, c, _ = ring.members
    for member, text in ((a, b"first version\n"), (b, b"second version\n")):
        member.shared.mkdir(parents=True, exist_ok=True)
        (member.shared / "dup.txt").write_bytes(text)
        await member.files.rescan()
    second = content_hash([digest(b"second version\n")]).hex()
    first = content_hash([digest(b"first version\n")]).hex()
    async with c.http() as http:
        got = await http.get("/api/v1/network/files/dup.txt/content")
        assert got.status_code == 409
        assert first in got.json()["detail"]
        assert second in got.json()["detail"]
        chosen = await http.get(
            "/api/v1/network/files/dup.txt/content", params={"content_hash": second}
        )
        assert chosen.status_code == 200
        assert chosen.content == b"second version\n"
    async with a.http() as http:  # a holds exactly one of them: its own copy is served
        own = await http.get("/api/v1/network/files/dup.txt/content")
        assert own.status_code == 200
        assert own.content == b"first version\n"
