"""``POST /api/v1/rescan``: publishes what changed in shared_dir at once and says what, with the
node's token only; 501 without file sharing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chordshare.api.app import create_app
from chordshare.api.schemas.ops import RescanAnswer
from chordshare.node.ring.chord import ChordNode
from tests.api.conftest import TEST_AUTH, client_for
from tests.api.files_helpers import FilesRing, make_ring


@pytest.fixture
async def ring(tmp_path: Path) -> AsyncIterator[FilesRing]:
    ring = await make_ring(tmp_path / "nodes", 3)
    yield ring
    await ring.close()


async def test_rescan_publishes_and_withdraws_and_says_what(ring: FilesRing) -> None:
    sharer, reader = ring.members[:2]
    sharer.shared.mkdir(parents=True, exist_ok=True)
    (sharer.shared / "a.txt").write_bytes(b"a" * 1000)
    (sharer.shared / "b.txt").write_bytes(b"b" * 1000)
    async with sharer.http() as http:
        answer = RescanAnswer.model_validate_json((await http.post("/api/v1/rescan")).content)
        assert answer == RescanAnswer(published=["a.txt", "b.txt"], withdrawn=[], sharing=2)
        async with reader.http() as other:
            assert (await other.get("/api/v1/network/files/a.txt")).status_code == 200

        (sharer.shared / "a.txt").unlink()
        response = await http.post("/api/v1/rescan")
        assert response.status_code == 200
        assert response.json() == {"published": [], "withdrawn": ["a.txt"], "sharing": 1}
        again = await http.post("/api/v1/rescan")
        assert again.json() == {"published": [], "withdrawn": [], "sharing": 1}


async def test_rescan_needs_the_token(ring: FilesRing) -> None:
    async with client_for(ring.members[0].app, token=None) as http:
        assert (await http.post("/api/v1/rescan")).status_code == 401
    async with client_for(ring.members[0].app, token="wrong") as http:
        assert (await http.post("/api/v1/rescan")).status_code == 403


async def test_rescan_without_file_sharing_is_501(ring: FilesRing) -> None:
    node: ChordNode = ring.members[0].node
    async with client_for(create_app(node, auth=TEST_AUTH)) as http:
        response = await http.post("/api/v1/rescan")
    assert response.status_code == 501
    assert "without file sharing" in response.json()["detail"]
