"""The REST server bounds its clients: a slow or silent client loses its connection once its
request head is late, a huge head is refused, an over-long upload is refused before its body is
read, and HTTPS is served when the node has a certificate. Real nodes on loopback."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import ValidationError

from chordshare.errors import ChordshareError
from chordshare.service.config import NodeConfig
from chordshare.service.http_protocol import MAX_HEAD_BYTES
from tests.service.conftest import Running, config, new_host

SLOW_CLIENTS = 50
WITHIN = 10.0
"""Seconds any one of these tests may spend waiting on the server."""

TOKEN = "t" * 43


def address(running: Running) -> tuple[str, int]:
    url = urlsplit(running.url)
    assert url.hostname is not None
    assert url.port is not None
    return url.hostname, url.port


async def closed_by_server(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, drip: bytes, deadline: float
) -> float:
    """Send ``drip`` one byte per second until the server closes the connection; the seconds
    that took. Fails at ``deadline`` (a loop.time())."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    for byte in drip:
        try:
            async with asyncio.timeout(min(1.0, deadline - loop.time())):
                if await reader.read(1 << 16) == b"":
                    return loop.time() - started
        except TimeoutError:
            pass
        assert loop.time() < deadline, "the server never closed a slow connection"
        try:
            writer.write(bytes([byte]))
            await writer.drain()
        except ConnectionError:
            return loop.time() - started
    raise AssertionError("the slow client sent its whole head without being cut off")


async def test_slow_and_silent_clients_are_cut_off_while_others_are_served(
    launch: Any,
) -> None:
    running: Running = await launch(http_header_timeout=1.0, http_idle_timeout=5.0)
    host, port = address(running)
    deadline = asyncio.get_running_loop().time() + WITHIN
    drip = b"GET /api/v1/node HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    connections = [await asyncio.open_connection(host, port) for _ in range(SLOW_CLIENTS)]
    silent = await asyncio.open_connection(host, port)
    try:
        slow = [asyncio.create_task(closed_by_server(r, w, drip, deadline)) for r, w in connections]
        async with httpx.AsyncClient(timeout=WITHIN) as http:
            answer = await http.get(f"{running.url}/api/v1/node")
        assert answer.status_code == 200
        async with asyncio.timeout(WITHIN):
            assert await silent[0].read() == b""  # never sent a byte: closed too
            cut = await asyncio.gather(*slow)
        assert max(cut) < 4.0, cut  # the 1 s deadline, plus scheduling slack; not the drip
    finally:
        for _, writer in [*connections, silent]:
            writer.close()


async def test_a_keep_alive_connection_gets_a_head_deadline_per_request(launch: Any) -> None:
    running: Running = await launch(http_header_timeout=1.0, http_idle_timeout=1.0)
    reader, writer = await asyncio.open_connection(*address(running))
    try:
        async with asyncio.timeout(WITHIN):
            writer.write(b"GET /api/v1/node HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            deadline = asyncio.get_running_loop().time() + WITHIN
            # The next head, dripped: cut off although each byte disarms uvicorn's idle timer.
            await closed_by_server(reader, writer, b"GET / HTTP/1.1\r\n" + b"a" * 30, deadline)
    finally:
        writer.close()


@pytest.mark.parametrize("where", ["header", "target"])
async def test_a_huge_request_head_is_refused(launch: Any, where: str) -> None:
    running: Running = await launch()
    reader, writer = await asyncio.open_connection(*address(running))
    big = b"a" * (4 * MAX_HEAD_BYTES)
    if where == "header":
        head = b"GET /api/v1/node HTTP/1.1\r\nHost: x\r\nX-Big: " + big + b"\r\n\r\n"
    else:
        head = b"GET /api/v1/node?" + big + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    try:
        writer.write(head)  # one write: it reaches the server in one read or a few
        async with asyncio.timeout(WITHIN):
            answer = await reader.read()
        assert answer.startswith(b"HTTP/1.1 400"), answer[:100]
    finally:
        writer.close()


async def test_an_upload_declared_too_large_is_413_before_its_body(launch: Any) -> None:
    running: Running = await launch(max_file_bytes=1 << 20, api_token=TOKEN)
    reader, writer = await asyncio.open_connection(*address(running))
    try:
        writer.write(
            b"PUT /api/v1/network/files/big.bin HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
            b"Content-Type: application/octet-stream\r\n"
            b"Content-Length: 1000000000000\r\n\r\n"
        )
        await writer.drain()
        async with asyncio.timeout(WITHIN):  # no body sent: the answer cannot wait for one
            head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413"), head
    finally:
        writer.close()


def self_signed(directory: Path, host: str) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    assert openssl is not None, "these tests need the openssl command"
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=chordshare test",
            "-addext",
            f"subjectAltName=IP:{host}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=WITHIN,
    )
    return cert, key


async def test_a_node_with_a_certificate_serves_https(launch: Any, tmp_path: Path) -> None:
    host = new_host()
    cert, key = self_signed(tmp_path, host)
    running: Running = await launch(listen_host=host, tls_certfile=str(cert), tls_keyfile=str(key))
    assert running.url.startswith(f"https://{host}:")
    trust = ssl.create_default_context(cafile=str(cert))
    async with httpx.AsyncClient(verify=trust, timeout=WITHIN) as http:
        answer = await http.get(f"{running.url}/api/v1/node")
    assert answer.status_code == 200
    assert answer.json()["http_url"] == running.url
    plain = running.url.replace("https://", "http://")
    async with httpx.AsyncClient(timeout=WITHIN) as http:
        with pytest.raises(httpx.HTTPError):
            await http.get(f"{plain}/api/v1/node")


@pytest.mark.parametrize("given", ["tls_certfile", "tls_keyfile"])
def test_a_certificate_without_its_key_is_a_config_error(given: str) -> None:
    values: dict[str, Any] = {given: "/some/file.pem"}
    with pytest.raises(ValidationError, match="HTTPS needs both"):
        NodeConfig(**values)


async def test_an_unreadable_certificate_fails_the_start(launch: Any, tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    started = time.monotonic()
    with pytest.raises(ChordshareError, match="cannot serve HTTPS"):
        await launch(tls_certfile=str(missing), tls_keyfile=str(missing))
    assert time.monotonic() - started < WITHIN
    assert config(tls_certfile="", tls_keyfile="").tls_certfile == ""
