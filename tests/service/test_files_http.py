"""The file routes over real HTTP (uvicorn on loopback): the blocking client, request bodies over
the limit, and bad names sent as raw request lines (literal ``..`` segments that no HTTP client
library would send unnormalized)."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from chordshare.client.rest import NodeApi
from chordshare.errors import InvalidName, LimitExceeded, NotFound
from tests.api.files_helpers import files_under
from tests.api.test_files_names import BAD_NAMES, routes
from tests.service.conftest import TOKEN, wait_ring
from tests.service.test_files_service import dirs

QUIET = {"rescan_interval": 3600.0}
"""No rescan during the test: a rescan's SQLite journal would show up in the file snapshots."""


def raw_request(url: str, method: str, target: str, body: bytes = b"") -> int:
    """Send one request line as given (no normalization, no encoding); the status code."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        head = (
            f"{method} {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: Bearer {TOKEN}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(head.encode("latin-1") + body)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1])


def sync_client_round_trip(url: str, other: str, source: Path) -> None:
    sent: list[int] = []
    with NodeApi(url, token=TOKEN) as api:
        answer = api.put("via-sync.bin", source, on_progress=sent.append)
        assert sent[-1] == source.stat().st_size
        assert len(answer.holders) == 2
        with pytest.raises(InvalidName):
            api.put("../escape.bin", source)
        with pytest.raises(NotFound):
            api.network_file("missing.bin")
    with NodeApi(other) as api:
        assert api.network_file("via-sync.bin").records[0].size == source.stat().st_size
        assert api.network_files().names == ["via-sync.bin"]
        with api.content("via-sync.bin", byte_range=(10, 29)) as body:
            assert body.status == 206
            assert b"".join(body.iter_bytes()) == source.read_bytes()[10:30]
        with api.content("via-sync.bin") as body:
            assert b"".join(body.iter_bytes()) == source.read_bytes()
        assert {f.name for f in api.files().files} == {"via-sync.bin"}


async def test_the_blocking_client_against_real_nodes(
    launch: Callable[..., Any], tmp_path: Path
) -> None:
    a = await launch(**dirs(tmp_path, "a"))
    b = await launch(seeds=[a.url], **dirs(tmp_path, "b"))
    await wait_ring(a, 2)
    source = tmp_path / "source.bin"
    source.write_bytes(random.Random(3).randbytes(500_000))
    await asyncio.to_thread(sync_client_round_trip, a.url, b.url, source)


def put_too_much(url: str, size: int) -> list[type[Exception]]:
    raised: list[type[Exception]] = []
    with NodeApi(url, token=TOKEN) as api:
        for body in (bytes(size), iter([bytes(size // 4)] * 4)):
            try:
                api.put("too-big.bin", body)
            except LimitExceeded:
                raised.append(LimitExceeded)
    return raised


async def test_bodies_over_the_limit_are_refused_with_413(
    launch: Callable[..., Any], tmp_path: Path
) -> None:
    node = await launch(**dirs(tmp_path, "a", max_file_bytes=1 << 20, **QUIET))
    before = files_under(tmp_path)
    raised = await asyncio.to_thread(put_too_much, node.url, 4 << 20)
    assert raised == [LimitExceeded, LimitExceeded]
    assert files_under(tmp_path) == before


@pytest.mark.parametrize(
    "target",
    [
        "/api/v1/files/../../../outside/secret.txt",
        "/api/v1/files/..",
        "/api/v1/network/files/../files/x",
        "/api/v1/network/files/%2E%2E/content",
        "/api/v1/network/files/%2Fetc%2Fpasswd",
        "/api/v1/network/files/a%00b",
    ],
)
async def test_raw_dot_segments_never_leave_the_node(
    launch: Callable[..., Any], tmp_path: Path, target: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret\n")
    node = await launch(**dirs(tmp_path, "a", **QUIET))
    before = files_under(tmp_path)
    for method in ("GET", "PUT"):
        status = await asyncio.to_thread(raw_request, node.url, method, target, b"x")
        assert 400 <= status < 500, (method, target, status)
    assert files_under(tmp_path) == before


async def test_bad_names_through_every_route_of_a_real_node(
    launch: Callable[..., Any], tmp_path: Path
) -> None:
    a = await launch(**dirs(tmp_path, "a", **QUIET))
    b = await launch(seeds=[a.url], **dirs(tmp_path, "b", **QUIET))
    await wait_ring(a, 2)
    before = files_under(tmp_path)

    def check_all() -> None:
        for name in BAD_NAMES:
            for method, path in routes(name):
                status = raw_request(b.url, method, path, b"payload\n")
                assert status == 400, (name, method, path, status)

    await asyncio.to_thread(check_all)
    assert files_under(tmp_path) == before
