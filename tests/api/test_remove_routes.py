"""DELETE /api/v1/network/files/{name} over a ring of NodeFiles on the in-memory network: the
uploader's node removes an upload with the secret it kept, any node with the secret the upload
answer gave, nobody without it; every pinned holder drops its copy and withdraws its entry, a
repair's copies included; another upload of the same content under the same name survives."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chordshare.api.schemas.files import RemovalAnswer, UploadAnswer
from chordshare.model.removal import removal_key
from chordshare.node.transfer.remove import keys_for_copy
from tests.api.files_helpers import FilesRing, Member, make_ring

K = 3
SECRET_HEADER = "X-Chordshare-Removal-Secret"


@pytest.fixture
async def ring(tmp_path: Path) -> AsyncIterator[FilesRing]:
    ring = await make_ring(tmp_path / "nodes", 6)
    yield ring
    await ring.close()


async def put(member: Member, name: str, content: bytes) -> UploadAnswer:
    async with member.http() as http:
        answer = await http.put(f"/api/v1/network/files/{name}", content=content)
    assert answer.status_code == 201, answer.text
    return UploadAnswer.model_validate_json(answer.content)


def copies(ring: FilesRing, name: str) -> set[int]:
    """Members holding a pinned copy of ``name``."""
    return {
        m.node.me.id
        for m in ring.members
        if any(s.kind == "pinned" for s in m.files.blobs.by_name(name))
    }


def ids(peers: list[object]) -> set[int]:
    return {int(p.id, 16) for p in peers}  # type: ignore[attr-defined]


async def test_the_accepting_node_removes_an_upload_without_being_given_the_secret(
    ring: FilesRing,
) -> None:
    entry = ring.members[0]
    content = random.Random(1).randbytes(90_000)
    answer = await put(entry, "holiday photos.zip", content)
    assert answer.removal_secret is not None
    assert len(bytes.fromhex(answer.removal_secret)) == 32
    holders = ring.holders("holiday photos.zip", K)
    assert copies(ring, "holiday photos.zip") == set(holders)
    async with entry.http() as http:
        removed = await http.delete("/api/v1/network/files/holiday%20photos.zip")
        assert removed.status_code == 200, removed.text
        report = RemovalAnswer.model_validate_json(removed.content)
        assert report.complete
        assert ids(report.removed) == set(holders)
        assert report.kept == []
        assert report.unreachable == {}
        assert report.refused == {}
        assert copies(ring, "holiday photos.zip") == set()
        # Every holder withdrew its entry: no node finds the name or one of its words.
        for member in ring.members:
            async with member.http() as reader:
                gone = await reader.get("/api/v1/network/files/holiday%20photos.zip")
                assert gone.status_code == 404, member
                words = await reader.get("/api/v1/network/search", params={"q": "holiday"})
                assert words.json()["names"] == []
        # The secret was used up: asking again names what is missing.
        again = await http.delete("/api/v1/network/files/holiday%20photos.zip")
        assert again.status_code == 404
        assert "keeps no removal secret" in again.json()["detail"]


async def test_another_node_needs_the_right_secret(ring: FilesRing) -> None:
    entry, other = ring.members[0], ring.members[3]
    answer = await put(entry, "notes.txt", random.Random(2).randbytes(40_000))
    holders = set(ring.holders("notes.txt", K))
    async with other.http() as http:
        missing = await http.delete("/api/v1/network/files/notes.txt")
        assert missing.status_code == 404
        wrong = await http.delete(
            "/api/v1/network/files/notes.txt", headers={SECRET_HEADER: "ab" * 32}
        )
        assert wrong.status_code == 403, wrong.text
        assert wrong.json()["error"] == "NotPermitted"
        assert copies(ring, "notes.txt") == holders  # nothing dropped
        bad = await http.delete("/api/v1/network/files/notes.txt", headers={SECRET_HEADER: "xyz"})
        assert bad.status_code == 400
        assert "hexadecimal" in bad.json()["detail"]
        assert answer.removal_secret is not None
        right = await http.delete(
            "/api/v1/network/files/notes.txt", headers={SECRET_HEADER: answer.removal_secret}
        )
        assert right.status_code == 200, right.text
        assert RemovalAnswer.model_validate_json(right.content).complete
    assert copies(ring, "notes.txt") == set()


async def test_removal_needs_the_api_token(ring: FilesRing) -> None:
    entry = ring.members[0]
    await put(entry, "kept.txt", b"x" * 5000)
    async with entry.http() as http:
        http.headers.pop("Authorization")
        refused = await http.delete("/api/v1/network/files/kept.txt")
    assert refused.status_code == 401
    assert copies(ring, "kept.txt") == set(ring.holders("kept.txt", K))


async def test_another_upload_of_the_same_content_and_name_survives(ring: FilesRing) -> None:
    first, second = ring.members[0], ring.members[4]
    content = random.Random(3).randbytes(60_000)
    await put(first, "shared.iso", content)
    await put(second, "shared.iso", content)
    holders = set(ring.holders("shared.iso", K))
    async with first.http() as http:
        answer = RemovalAnswer.model_validate_json(
            (await http.delete("/api/v1/network/files/shared.iso")).content
        )
        assert answer.complete
        assert ids(answer.kept) == holders
        assert answer.removed == []
        assert copies(ring, "shared.iso") == holders
        fetched = await http.get("/api/v1/network/files/shared.iso/content")
        assert fetched.content == content
    async with second.http() as http:
        answer = RemovalAnswer.model_validate_json(
            (await http.delete("/api/v1/network/files/shared.iso")).content
        )
    assert ids(answer.removed) == holders
    assert copies(ring, "shared.iso") == set()


async def test_a_name_with_two_uploads_needs_a_content_hash(ring: FilesRing) -> None:
    entry = ring.members[1]
    one = await put(entry, "draft.md", b"first draft" * 1000)
    two = await put(entry, "draft.md", b"second draft" * 1000)
    async with entry.http() as http:
        both = await http.delete("/api/v1/network/files/draft.md")
        assert both.status_code == 409, both.text
        assert one.record.content_hash in both.json()["detail"]
        chosen = await http.delete(
            "/api/v1/network/files/draft.md", params={"content_hash": two.record.content_hash}
        )
        assert chosen.status_code == 200
        left = (await http.get("/api/v1/network/files/draft.md")).json()
    assert [r["content_hash"] for r in left["records"]] == [one.record.content_hash]


async def test_a_repair_copy_keeps_the_removal_key(ring: FilesRing) -> None:
    entry = ring.members[0]
    answer = await put(entry, "survivor.bin", random.Random(4).randbytes(70_000))
    first_holders = ring.holders("survivor.bin", K)
    owner, _, third = (ring.member(i) for i in first_holders)
    if entry is third:
        entry = ring.member(first_holders[1])
    ring.crash(third)
    await ring.converge()
    report = await owner.files.bytes.run()
    assert report.copies == 1
    (added,) = copies(ring, "survivor.bin") - set(first_holders)
    assert added in ring.holders("survivor.bin", K)
    # The copy came from the owner's own: a node holding nothing gets the key from holders.
    holding = copies(ring, "survivor.bin")
    outsider = next(m for m in ring.members if m.node.me.id not in holding | {third.node.me.id})
    record = (await outsider.files.find("survivor.bin"))[0]
    alive = {m.node.me.id for m in ring.members} - {third.node.me.id}
    keys = await keys_for_copy(
        record,
        outsider.node.me,
        outsider.files.removal_store,
        outsider.files.transfer_client,
        alive,
    )
    assert answer.removal_secret is not None
    assert keys == (removal_key(bytes.fromhex(answer.removal_secret)),)
    async with entry.http() as http:
        removed = RemovalAnswer.model_validate_json(
            (
                await http.delete(
                    "/api/v1/network/files/survivor.bin",
                    headers={SECRET_HEADER: answer.removal_secret},
                )
            ).content
        )
    assert added in ids(removed.removed)
    assert copies(ring, "survivor.bin") == {third.node.me.id}  # only the crashed node's copy
