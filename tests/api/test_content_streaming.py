"""``GET /api/v1/network/files/{name}/content`` serves verified pieces as they arrive: over real
HTTP, in front of a ring on the in-memory network whose provider is held at a gate mid-way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from chordshare.node.transfer.download import DownloadSettings
from chordshare.node.transfer.fetch import Fetching
from tests.api.files_helpers import PIECE, FilesRing, Member, make_ring
from tests.api.streaming_helpers import WITHIN, gate, read_at_least, serving
from tests.api.test_files_routes import share

PIECES = 20
SIZE = PIECES * PIECE - 1000
"""Twenty pieces, the last one short."""

NAME = "film.mkv"
PATH = f"/api/v1/network/files/{NAME}/content"


@pytest.fixture
async def ring(tmp_path: Path) -> AsyncIterator[FilesRing]:
    ring = await make_ring(tmp_path / "nodes", 3)
    yield ring
    await ring.close()


def content_hash(provider: Member) -> bytes:
    shared = provider.files.index.by_name(NAME)
    assert shared is not None
    return shared.manifest.content_hash


def running(reader: Member, provider: Member) -> Fetching:
    """The download of NAME running on ``reader`` (there must be one, not finished)."""
    assert reader.files.held_file(NAME) is None
    fetching = reader.files.fetcher.running(content_hash(provider))
    assert fetching is not None
    assert not fetching.done
    return fetching


@contextlib.asynccontextmanager
async def hung(what: str) -> AsyncIterator[None]:
    try:
        async with asyncio.timeout(WITHIN):
            yield
    except TimeoutError:
        raise AssertionError(f"timed out after {WITHIN} s: {what}") from None


async def test_the_first_bytes_leave_before_the_download_ends(ring: FilesRing) -> None:
    a, b = ring.members[:2]
    content = await share(a, NAME, size=SIZE)
    gated = gate(ring, a, range(4, PIECES))
    async with (
        serving(b.app) as served,
        served.client() as http,
        hung("the headers and first bytes while the download is held at piece 4"),
        http.stream("GET", PATH) as answer,
    ):
        chunks = aiter(answer.aiter_raw())
        first = await read_at_least(chunks, PIECE)
        assert answer.status_code == 200
        assert answer.headers["content-length"] == str(SIZE)
        assert answer.headers["accept-ranges"] == "bytes"
        assert answer.headers["x-chordshare-content-hash"] == content_hash(a).hex()
        assert first == content[: len(first)]
        assert len(first) <= 4 * PIECE  # only verified pieces
        assert gated.reached.is_set()
        fetching = running(b, a)
        gated.release.set()
        rest = b"".join([block async for block in chunks])
    assert first + rest == content
    async with hung("the download to finish"):
        held = await fetching.result()
    assert held.path.read_bytes() == content
    assert b.files.held_file(NAME) is not None


async def test_ranges_while_the_download_runs(ring: FilesRing) -> None:
    a, b = ring.members[:2]
    content = await share(a, NAME, size=SIZE)
    gated = gate(ring, a, range(10, PIECES))
    async with serving(b.app) as served, served.client() as http:
        start, last = PIECE + 5, 3 * PIECE + 9
        async with hung("a range of verified pieces, while the download is held"):
            inside = await http.get(PATH, headers={"Range": f"bytes={start}-{last}"})
        assert inside.status_code == 206
        assert inside.headers["content-range"] == f"bytes {start}-{last}/{SIZE}"
        assert inside.content == content[start : last + 1]

        suffix = asyncio.create_task(http.get(PATH, headers={"Range": "bytes=-100"}))
        start = 9 * PIECE
        async with http.stream("GET", PATH, headers={"Range": f"bytes={start}-"}) as open_ended:
            assert open_ended.status_code == 206
            assert open_ended.headers["content-range"] == f"bytes {start}-{SIZE - 1}/{SIZE}"
            assert open_ended.headers["content-length"] == str(SIZE - start)
            chunks = aiter(open_ended.aiter_raw())
            async with hung("the first bytes of an open-ended range"):
                first = await read_at_least(chunks, PIECE)
            assert first == content[start : start + PIECE]
            assert not suffix.done()
            gated.release.set()
            async with hung("the rest of the open-ended range"):
                rest = b"".join([block async for block in chunks])
        assert first + rest == content[start:]
        async with hung("the suffix range"):
            tail = await suffix
    assert tail.status_code == 206
    assert tail.headers["content-range"] == f"bytes {SIZE - 100}-{SIZE - 1}/{SIZE}"
    assert tail.content == content[-100:]


async def test_pieces_arriving_out_of_order_are_served_in_order(ring: FilesRing) -> None:
    a, b = ring.members[:2]
    content = await share(a, NAME, size=SIZE)
    b.files.fetcher.settings = DownloadSettings(batch_bytes=2 * PIECE)
    gated = gate(ring, a, range(2))  # the first batch waits; the others come meanwhile
    async with serving(b.app) as served, served.client() as http:
        whole = asyncio.create_task(http.get(PATH))
        async with hung("the last bytes, while the first pieces are held"):
            tail = await http.get(PATH, headers={"Range": "bytes=-100"})
        assert tail.status_code == 206
        assert tail.content == content[-100:]
        assert not whole.done()
        gated.release.set()
        async with hung("the whole file"):
            answer = await whole
    assert answer.status_code == 200
    assert answer.content == content


async def test_a_download_failing_midway_cuts_the_response(
    ring: FilesRing, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = ring.members[:2]
    content = await share(a, NAME, size=SIZE)
    gated = gate(ring, a, range(4, PIECES))
    caplog.set_level(logging.WARNING, logger="chordshare")
    received: list[bytes] = []

    async def rest(chunks: AsyncIterator[bytes]) -> None:
        async with hung("the cut"):
            async for block in chunks:
                received.append(block)

    async with (
        serving(b.app) as served,
        served.client() as http,
        http.stream("GET", PATH) as answer,
    ):
        assert answer.status_code == 200
        chunks = aiter(answer.aiter_raw())
        async with hung("the first bytes"):
            received.append(await read_at_least(chunks, PIECE))
        ring.crash(a)  # the only provider goes away while its stream is held
        gated.release.set()
        with pytest.raises(httpx.RemoteProtocolError):
            await rest(chunks)
    got = b"".join(received)
    assert got == content[: len(got)]
    assert len(got) <= 4 * PIECE
    assert any("cut" in r.getMessage() and NAME in r.getMessage() for r in caplog.records)
    assert b.files.held_file(NAME) is None


async def test_a_resumed_download_streams_the_pieces_it_kept_at_once(ring: FilesRing) -> None:
    a, b = ring.members[:2]
    content = await share(a, NAME, size=SIZE)
    gated = gate(ring, a, range(4, PIECES))
    async with serving(b.app) as served, served.client() as http:
        async with http.stream("GET", PATH) as answer:
            chunks = aiter(answer.aiter_raw())
            async with hung("the first bytes"):
                await read_at_least(chunks, PIECE)
            ring.crash(a)
            gated.release.set()
            with pytest.raises(httpx.RemoteProtocolError):
                await read_at_least(chunks, SIZE)
        gated = gate(ring, a, range(PIECES))  # back up, but holding every piece
        async with http.stream("GET", PATH) as answer:
            chunks = aiter(answer.aiter_raw())
            async with hung("the pieces the first attempt verified"):
                kept = await read_at_least(chunks, 4 * PIECE)
            assert kept == content[: len(kept)]
            gated.release.set()
            async with hung("the rest"):
                rest = b"".join([block async for block in chunks])
    assert kept + rest == content
    assert a.files.transfer.stats.pieces_served == PIECES  # nothing fetched twice


async def test_a_download_failing_before_the_first_byte_is_503(ring: FilesRing) -> None:
    a, b = ring.members[:2]
    await share(a, NAME, size=SIZE)
    gated = gate(ring, a, range(PIECES))
    async with serving(b.app) as served, served.client() as http:
        answer = asyncio.create_task(http.get(PATH))
        async with hung("the download to start"):
            await gated.reached.wait()
        ring.crash(a)
        gated.release.set()
        async with hung("the answer"):
            failed = await answer
    assert failed.status_code == 503
    assert failed.json()["error"] == "PeerUnavailable"
    assert f"no provider could serve {NAME}" in failed.json()["detail"]


async def test_concurrent_readers_share_one_streamed_download(ring: FilesRing) -> None:
    a, b = ring.members[:2]
    content = await share(a, NAME, size=SIZE)
    gated = gate(ring, a, range(4, PIECES))
    async with (
        serving(b.app) as served,
        served.client() as http,
        contextlib.AsyncExitStack() as stack,
    ):
        readers = []
        for header in ({}, {}, {"Range": f"bytes={PIECE}-"}):
            answer = await stack.enter_async_context(http.stream("GET", PATH, headers=header))
            chunks = aiter(answer.aiter_raw())
            async with hung("a reader's first bytes"):
                readers.append((answer, chunks, await read_at_least(chunks, PIECE)))
        running(b, a)
        gated.release.set()
        async with hung("every reader's body"):
            bodies = [first + b"".join([x async for x in chunks]) for _, chunks, first in readers]
    assert bodies == [content, content, content[PIECE:]]
    assert [r.status_code for r, _, _ in readers] == [200, 200, 206]
    assert a.files.transfer.stats.pieces_served == PIECES  # one download for all three


async def test_a_reader_hanging_up_leaves_the_download_running(ring: FilesRing) -> None:
    a, b = ring.members[:2]
    content = await share(a, NAME, size=SIZE)
    gated = gate(ring, a, range(4, PIECES))
    async with serving(b.app) as served, served.client() as http:
        async with http.stream("GET", PATH) as answer:
            async with hung("the first bytes"):
                await read_at_least(aiter(answer.aiter_raw()), PIECE)
            fetching = running(b, a)
        # Leaving the block before the end of the body closes the connection.
        await served.requests_done()
        assert not fetching.done
        gated.release.set()
        async with hung("the download to finish without its reader"):
            held = await fetching.result()
        assert held.path.read_bytes() == content
        again = await http.get(PATH)
    assert again.content == content
    assert a.files.transfer.stats.pieces_served == PIECES
