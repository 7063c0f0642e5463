"""``GET /api/v1/network/search`` over a ring of NodeFiles on the in-memory network: the
brief's example (``random`` finds ``random20.bin``), paging, bounds and a query without a word."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chordshare.api.schemas.search import SearchAnswer
from tests.api.files_helpers import FilesRing, Member, make_ring


@pytest.fixture
async def ring(tmp_path: Path) -> AsyncIterator[FilesRing]:
    ring = await make_ring(tmp_path / "nodes", 4)
    yield ring
    await ring.close()


async def share(member: Member, *names: str) -> None:
    member.shared.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        (member.shared / name).write_bytes(random.Random(name).randbytes(1000 + i))
    await member.files.rescan()


async def test_a_word_of_the_name_finds_it_from_any_node(ring: FilesRing) -> None:
    a = ring.members[0]
    await share(a, "random20.bin", "random-notes.txt", "holiday.jpg")
    for member in ring.members:
        async with member.http() as http:
            got = await http.get("/api/v1/network/search", params={"q": "random"})
            assert got.status_code == 200, got.text
            answer = SearchAnswer.model_validate_json(got.content)
            assert [h.name for h in answer.names] == ["random-notes.txt", "random20.bin"]
            assert answer.total == 2
            assert answer.next_offset is None
            (variant,) = answer.names[1].variants
            assert (variant.size, variant.providers) == (1000, 1)
    async with a.http() as http:
        both = (await http.get("/api/v1/network/search", params={"q": "Random 20"})).json()
        assert [h["name"] for h in both["names"]] == ["random20.bin"]
        assert sorted(both["words"]) == ["20", "random"]


async def test_pages_by_offset_and_limit(ring: FilesRing) -> None:
    names = [f"part{i:02d}.dat" for i in range(7)]
    await share(ring.members[1], *names)
    seen: list[str] = []
    offset: int | None = 0
    async with ring.members[2].http() as http:
        while offset is not None:
            got = await http.get(
                "/api/v1/network/search", params={"q": "dat", "limit": 3, "offset": offset}
            )
            answer = SearchAnswer.model_validate_json(got.content)
            assert answer.total == 7
            seen += [h.name for h in answer.names]
            offset = answer.next_offset
    assert seen == names


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"q": "x", "limit": 0}, 422),
        ({"q": "x", "limit": 201}, 422),
        ({"q": "x", "offset": -1}, 422),
        ({}, 422),
        ({"q": "a ."}, 400),
        ({"q": "one two three four five six seven eight nine"}, 400),
    ],
)
async def test_bad_queries_are_refused_with_a_reason(
    ring: FilesRing, params: dict[str, object], status: int
) -> None:
    async with ring.members[0].http() as http:
        got = await http.get("/api/v1/network/search", params=params)
    assert got.status_code == status, got.text
    assert got.json()["detail"]


async def test_the_name_listing_still_answers(ring: FilesRing) -> None:
    await share(ring.members[0], "random20.bin")
    async with ring.members[3].http() as http:
        got = await http.get("/api/v1/network/files")
    assert got.json() == {"names": ["random20.bin"], "next_after": None}
