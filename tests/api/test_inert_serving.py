"""Served file bytes are inert: whatever a file's name or content, a browser opening one of the
node's byte URLs downloads it (attachment, nosniff, a sandboxing CSP, never an active type)
instead of running it on the node's own origin. And a hostile Range header never gets a 5xx."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote, unquote

import httpx
import pytest
from anyio.from_thread import start_blocking_portal
from fastapi import FastAPI, Request, Response
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chordshare.api.serving import MAX_RANGE_DIGITS, MAX_RANGES, attachment, range_problem, serve
from chordshare.model.held import HeldFile
from chordshare.storage.files.pieces import hash_file
from tests.api.conftest import BASE_URL, sync_transport
from tests.api.files_helpers import PIECE, FilesRing, make_ring
from tests.api.streaming_helpers import WITHIN, gate, read_at_least, serving
from tests.api.test_files_routes import share

ACTIVE = ("text/html", "image/svg+xml", "application/xhtml+xml", "application/javascript")
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.domain)"/>'


@pytest.fixture
async def ring(tmp_path: Path) -> AsyncIterator[FilesRing]:
    ring = await make_ring(tmp_path / "nodes", 3)
    yield ring
    await ring.close()


def filename_of(disposition: str) -> str:
    """The file name a browser takes from ``Content-Disposition``: ``filename*`` (RFC 6266)."""
    assert disposition.startswith("attachment;"), disposition
    match = re.search(r"filename\*=UTF-8''([^;\s]*)", disposition)
    assert match is not None, disposition
    return unquote(match.group(1), errors="strict")


def assert_inert(answer: httpx.Response, name: str | None = None) -> None:
    headers = answer.headers
    assert headers["x-content-type-options"] == "nosniff"
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "sandbox" in csp
    assert not headers["content-type"].startswith(ACTIVE), headers["content-type"]
    if name is not None:
        disposition = headers["content-disposition"]
        assert disposition.isascii()
        assert filename_of(disposition) == name


async def test_a_shared_html_file_is_served_as_an_inert_attachment(ring: FilesRing) -> None:
    a, b = ring.members[:2]
    await share(a, "page.html", size=3000)
    async with a.http() as own, b.http() as other:
        answers = [
            await own.get("/api/v1/files/page.html"),
            await own.get("/api/v1/files/page.html", headers={"Range": "bytes=0-9"}),
            await own.get("/api/v1/files/page.html", headers={"Range": "bytes=0-9,20-29"}),
            await other.get("/api/v1/network/files/page.html/content"),  # downloaded first
            await other.get("/api/v1/network/files/page.html/content"),  # then held
        ]
        refused = await own.get("/api/v1/files/page.html", headers={"Range": "bytes=5000-"})
    assert [a.status_code for a in answers] == [200, 206, 206, 200, 200]
    for answer in answers:
        assert_inert(answer, "page.html")
    assert refused.status_code == 416
    assert_inert(refused)


async def test_an_svg_with_a_script_is_never_served_as_svg(ring: FilesRing) -> None:
    a, b = ring.members[:2]
    a.shared.mkdir(parents=True, exist_ok=True)
    (a.shared / "cat.svg").write_bytes(SVG)
    await a.files.rescan()
    async with a.http() as own, b.http() as other:
        shared = await own.get("/api/v1/files/cat.svg")
        fetched = await other.get("/api/v1/network/files/cat.svg/content")
        stored = await other.get("/api/v1/files/cat.svg")  # b's copy, in its blob store
    for answer in (shared, fetched, stored):
        assert answer.status_code == 200, answer.text
        assert answer.content == SVG
        assert_inert(answer, "cat.svg")
        assert answer.headers["content-type"] == "application/octet-stream"


async def test_safe_types_keep_their_type(ring: FilesRing) -> None:
    a = ring.members[0]
    await share(a, "notes.txt", size=100)
    await share(a, "photo.png", size=100)
    async with a.http() as http:
        text = await http.get("/api/v1/files/notes.txt")
        png = await http.get("/api/v1/files/photo.png")
    assert text.headers["content-type"].startswith("text/plain")
    assert png.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    "name", ['say "hi".txt', "naïve café.txt", "日本語.txt", "a;b=c, d.bin", "%41.bin"]
)
async def test_any_name_round_trips_through_content_disposition(ring: FilesRing, name: str) -> None:
    a, b = ring.members[:2]
    await share(a, name, size=10)
    async with b.http() as http:
        got = await http.get(f"/api/v1/network/files/{quote(name, safe='')}/content")
    assert got.status_code == 200, got.text
    assert_inert(got, name)


@given(name=st.text(min_size=1, max_size=80))
def test_attachment_is_ascii_and_parses_back_to_the_name(name: str) -> None:
    disposition = attachment(name)
    assert disposition.isascii()
    assert filename_of(disposition) == name
    fallback = disposition.split('filename="', 1)[1].split('"; filename*=', 1)[0]
    assert not set(fallback) & set('"\\%')
    assert len(fallback) == len(name)


async def test_a_streamed_response_is_inert(ring: FilesRing) -> None:
    a, b = ring.members[:2]
    size = 8 * PIECE
    content = await share(a, "clip.svg", size=size)
    gated = gate(ring, a, range(2, 8))
    async with (
        serving(b.app) as served,
        served.client() as http,
        asyncio.timeout(WITHIN),
        http.stream("GET", "/api/v1/network/files/clip.svg/content") as answer,
    ):
        chunks = aiter(answer.aiter_raw())
        got = await read_at_least(chunks, PIECE)
        assert b.files.held_file("clip.svg") is None  # still streaming in
        assert answer.status_code == 200
        assert_inert(answer, "clip.svg")
        gated.release.set()
        async for chunk in chunks:
            got += chunk
    assert got == content


HUGE = "9" * 5000


@pytest.mark.parametrize(
    ("header", "status", "span"),
    [
        (f"bytes={HUGE}-", 416, None),
        (f"bytes=0-{HUGE}", 206, (0, 3000)),
        (f"bytes=-{HUGE}", 206, (0, 3000)),
        (f"bytes={'0' * 5000}1-9", 206, (1, 10)),
        ("bytes=" + ",".join(["0-0"] * (MAX_RANGES + 1)), 416, None),
        ("bytes=" + ",".join(["0-0"] * 5000), 416, None),
        ("bytes=" + "1" * (MAX_RANGE_DIGITS + 1) + "-", 416, None),
    ],
    ids=["huge-first", "huge-last", "huge-suffix", "zero-padded", "17-ranges", "5000-ranges", "20"],
)
async def test_hostile_ranges_never_get_a_5xx(
    ring: FilesRing,
    header: str,
    status: int,
    span: tuple[int, int] | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    a, b = ring.members[:2]
    content = await share(a, "film.mkv", size=3000)
    async with a.http() as own, b.http() as other:
        answers = [
            await own.get("/api/v1/files/film.mkv", headers={"Range": header}),
            await other.get("/api/v1/network/files/film.mkv/content", headers={"Range": header}),
        ]
    for answer in answers:
        assert answer.status_code == status, answer.text[:200]
        assert_inert(answer)
        if span is not None:
            assert answer.content == content[span[0] : span[1]]
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


RANGE_PIECES = st.one_of(
    st.text(alphabet="0123456789-, =bytes\t", max_size=60),
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(0, 10**30)),
            st.one_of(st.none(), st.integers(0, 10**30)),
        ),
        min_size=1,
        max_size=40,
    ).map(
        lambda specs: ",".join(
            f"{'' if f is None else f}-{'' if t is None else t}" for f, t in specs
        )
    ),
    st.text(max_size=40),
)


@given(spec=RANGE_PIECES, prefix=st.sampled_from(["bytes=", "", "BYTES=", "bytes= "]))
@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_range_problem_never_raises(spec: str, prefix: str) -> None:
    for size in (0, 1, 3000):
        problem = range_problem(prefix + spec, size)
        assert problem is None or isinstance(problem, str)


def test_hostile_ranges_over_http_are_200_206_or_416(tmp_path: Path) -> None:
    """Every answer of a held file's route (Starlette's FileResponse behind range_problem) to a
    generated Range header is a 200, 206 or 416, never a 5xx."""
    path = tmp_path / "film.mkv"
    path.write_bytes(bytes(range(256)) * 12)
    held = HeldFile("shared", hash_file(path, "film.mkv", PIECE), path)
    app = FastAPI()

    @app.get("/file")
    async def get_file(request: Request) -> Response:
        return await serve(request, held)

    with (
        start_blocking_portal() as portal,
        httpx.Client(transport=sync_transport(portal, app), base_url=BASE_URL) as http,
    ):

        @given(spec=RANGE_PIECES, prefix=st.sampled_from(["bytes=", "BYTES=", "bytes= "]))
        @settings(max_examples=150)
        def check(spec: str, prefix: str) -> None:
            header = prefix + spec
            if not (header.isascii() and header.isprintable()) or header != header.strip():
                return  # not a header value an HTTP client can send
            answer = http.get("/file", headers={"Range": header})
            assert answer.status_code in (200, 206, 416), (header, answer.text[:200])
            assert_inert(answer)

        check()
