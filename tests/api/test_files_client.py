"""The asyncio client's file methods against a real ring of NodeFiles on the in-memory network
(the blocking client is exercised against real nodes in ``tests/service``)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from chordshare.client.rest import AsyncNodeApi
from chordshare.errors import InvalidName, LimitExceeded, NotFound, PeerUnavailable
from chordshare.model.manifest import FileRecord
from tests.api.conftest import TOKEN
from tests.api.files_helpers import FilesRing, Member, make_ring


@pytest.fixture
async def ring(tmp_path: Path) -> AsyncIterator[FilesRing]:
    ring = await make_ring(tmp_path / "nodes", 4, max_file_bytes=1 << 20)
    yield ring
    await ring.close()


def api(member: Member) -> AsyncNodeApi:
    return AsyncNodeApi(
        "http://node.test", transport=httpx.ASGITransport(app=member.app), retries=0, token=TOKEN
    )


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 4096):
        yield data[i : i + 4096]


async def test_put_find_list_and_read_back(ring: FilesRing, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    content = random.Random(9).randbytes(120_000)
    source.write_bytes(content)
    sent: list[int] = []
    async with api(ring.members[0]) as client:
        from_path = await client.put("from-path.bin", source, on_progress=sent.append)
        from_bytes = await client.put("from-bytes.bin", content)
        from_stream = await client.put("from-stream.bin", chunks(content))
        from_blocks = await client.put("from-blocks.bin", iter([content[:10], content[10:]]))
    assert sent[-1] == len(content)
    for answer in (from_path, from_bytes, from_stream, from_blocks):
        assert answer.record.size == len(content)
        assert len(answer.holders) == 3
        assert answer.record.content_hash == from_path.record.content_hash

    async with api(ring.members[3]) as client:
        found = await client.network_file("from-path.bin")
        record = found.records[0].to_record()
        assert isinstance(record, FileRecord)
        assert record.manifest.size == len(content)
        page = await client.network_files(limit=2)
        rest = await client.network_files(after=page.next_after or "", limit=10)
        async with client.content("from-stream.bin") as body:
            whole = b"".join([b async for b in body.aiter_bytes()])
            assert (body.status, body.size) == (200, len(content))
            assert body.content_hash == from_path.record.content_hash
        async with client.content("from-stream.bin", byte_range=(100, 199)) as body:
            part = b"".join([b async for b in body.aiter_bytes()])
            assert (body.status, body.size) == (206, len(content))
        async with client.content("from-stream.bin", byte_range=(119_990, None)) as body:
            tail = b"".join([b async for b in body.aiter_bytes()])
        held = await client.files()
    assert page.names + rest.names == sorted(
        ["from-blocks.bin", "from-bytes.bin", "from-path.bin", "from-stream.bin"]
    )
    assert rest.next_after is None
    assert whole == content
    assert part == content[100:200]
    assert tail == content[119_990:]
    assert "from-stream.bin" in {f.name for f in held.files}


async def test_errors_come_out_as_the_projects_exceptions(ring: FilesRing) -> None:
    a, b = ring.members[:2]
    async with api(a) as client:
        with pytest.raises(NotFound, match=r"nothing\.bin"):
            await client.network_file("nothing.bin")
        with pytest.raises(NotFound):
            async with client.content("nothing.bin"):
                pass
        with pytest.raises(InvalidName, match="separator"):
            await client.network_file("../etc/passwd")
        with pytest.raises(InvalidName):
            await client.put("a/b", b"x")
        with pytest.raises(LimitExceeded, match="limit"):
            await client.put("huge.bin", bytes((1 << 20) + 1))
        with pytest.raises(LimitExceeded):
            await client.put("huge.bin", chunks(bytes((1 << 20) + 1)))
    a.shared.mkdir(parents=True, exist_ok=True)
    (a.shared / "lonely.txt").write_bytes(b"only on a\n")
    await a.files.rescan()
    ring.crash(a)
    async with api(b) as client:
        with pytest.raises(PeerUnavailable, match=r"lonely\.txt"):
            async with client.content("lonely.txt"):
                pass
