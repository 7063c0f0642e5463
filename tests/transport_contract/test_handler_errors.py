"""What a handler raises reaches the caller the same over both transports, through the one table
(``chordshare.transport.ports.status``): for ring and records calls, always a ``PeerError``;
for transfers, the four domain errors a downloader or uploader must tell apart come back as such.
Storage failures and bugs are INTERNAL without details, and the serving node logs them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chordshare.errors import (
    ChordshareError,
    IntegrityError,
    InvalidInput,
    InvalidName,
    JoinFailed,
    LimitExceeded,
    LookupFailed,
    NotFound,
    PeerProtocolError,
    PeerTimeout,
    PeerUnavailable,
    StorageError,
    TransferError,
)
from chordshare.ring import PeerRef
from chordshare.transport.ports.transfer import Chunk

from . import calls
from .conftest import Transport
from .stubs import DATA, MANIFEST

Row = tuple[Exception, str, type[Exception], type[Exception]]

TABLE: list[Row] = [
    # raised by the handler, status, what a ring/records caller gets, what a transfer caller gets
    (JoinFailed("not a member yet"), "FAILED_PRECONDITION", PeerProtocolError, PeerProtocolError),
    (ChordshareError("not now"), "FAILED_PRECONDITION", PeerProtocolError, PeerProtocolError),
    (TransferError("busy"), "FAILED_PRECONDITION", PeerProtocolError, PeerProtocolError),
    (PeerTimeout("third node slow"), "UNAVAILABLE", PeerUnavailable, PeerUnavailable),
    (LookupFailed("no route"), "UNAVAILABLE", PeerUnavailable, PeerUnavailable),
    (InvalidInput("bad range"), "INVALID_ARGUMENT", PeerProtocolError, InvalidInput),
    (InvalidName("a/b: separator"), "INVALID_ARGUMENT", PeerProtocolError, InvalidInput),
    (NotFound("no such content"), "NOT_FOUND", PeerProtocolError, NotFound),
    (LimitExceeded("too many streams"), "RESOURCE_EXHAUSTED", PeerProtocolError, LimitExceeded),
    (IntegrityError("piece 0 does not match"), "DATA_LOSS", PeerProtocolError, IntegrityError),
    (
        StorageError("/home/me/secret.db: disk full"),
        "INTERNAL",
        PeerProtocolError,
        PeerProtocolError,
    ),
    (RuntimeError("secret state"), "INTERNAL", PeerProtocolError, PeerProtocolError),
]
IDS = [type(row[0]).__name__ for row in TABLE]
SECRET = "secret"
"""Every INTERNAL row's message holds it: it must reach the log, never the caller."""


def expected_message(method: str, peer: PeerRef, raised: Exception, status: str, kind: type) -> str:
    details = "internal error" if status == "INTERNAL" else f"{type(raised).__name__}: {raised}"
    if method in calls.TRANSFER and kind in (InvalidInput, NotFound, LimitExceeded, IntegrityError):
        return f"{method} to {peer.grpc_address}: {details}"
    return f"{calls.failed(method, peer, status)}: {details}"


def check(
    caught: pytest.ExceptionInfo[Exception],
    method: str,
    peer: PeerRef,
    row: Row,
    caplog: pytest.LogCaptureFixture,
) -> None:
    raised, status, ring_kind, transfer_kind = row
    kind = transfer_kind if method in calls.TRANSFER else ring_kind
    assert type(caught.value) is kind
    assert str(caught.value) == expected_message(method, peer, raised, status, kind)
    if status == "INTERNAL":
        assert SECRET not in str(caught.value)
        assert str(raised) in caplog.text  # logged by the serving node, with its traceback


@pytest.mark.parametrize("row", TABLE, ids=IDS)
@pytest.mark.parametrize("method", list(calls.ALL))
async def test_a_handler_error_on_entry(
    transport: Transport, method: str, row: Row, caplog: pytest.LogCaptureFixture
) -> None:
    served = await transport.serve()
    served.script.error = row[0]
    with pytest.raises(Exception) as caught:  # noqa: PT011  (check() names the exact type)
        await calls.ALL[method](transport.clients, served.peer)
    check(caught, method, served.peer, row, caplog)


async def collect(stream: AsyncIterator[Chunk], into: list[Chunk]) -> None:
    async for chunk in stream:
        into.append(chunk)


@pytest.mark.parametrize("row", TABLE, ids=IDS)
async def test_a_download_failing_mid_stream(
    transport: Transport, row: Row, caplog: pytest.LogCaptureFixture
) -> None:
    served = await transport.serve()
    served.script.late = row[0]
    got: list[Chunk] = []
    stream = transport.clients.transfer.download(served.peer, MANIFEST.content_hash, 0, 1)
    with pytest.raises(Exception) as caught:  # noqa: PT011
        await collect(stream, got)
    assert got == [Chunk(0, 0, DATA)]  # the chunk before the failure arrived
    check(caught, "Download", served.peer, row, caplog)


@pytest.mark.parametrize("row", TABLE, ids=IDS)
async def test_an_upload_failing_after_its_first_chunk(
    transport: Transport, row: Row, caplog: pytest.LogCaptureFixture
) -> None:
    served = await transport.serve()
    served.script.late = row[0]
    with pytest.raises(Exception) as caught:  # noqa: PT011
        await calls.upload(transport.clients, served.peer)
    check(caught, "Upload", served.peer, row, caplog)


async def test_an_uploads_own_chunk_source_failing_is_the_callers_error(
    transport: Transport,
) -> None:
    served = await transport.serve()
    local = StorageError("the caller's disk failed")

    async def failing() -> AsyncIterator[Chunk]:
        yield Chunk(0, 0, DATA)
        raise local

    with pytest.raises(StorageError) as caught:
        await transport.clients.transfer.upload(served.peer, MANIFEST, failing())
    assert caught.value is local
