"""Faults of the network and of the peer's server, the same over both transports: a dead peer, a
deadline, a subsystem the peer does not serve, a provider vanishing mid-stream, cancellation."""

from __future__ import annotations

import asyncio

import pytest

from chordshare.errors import PeerProtocolError, PeerTimeout, PeerUnavailable
from chordshare.transport.ports.status import UNIMPLEMENTED_DETAILS
from chordshare.transport.ports.transfer import Chunk

from . import calls
from .conftest import DEADLINE, Transport
from .stubs import DATA, MANIFEST, RECORD

METHODS = list(calls.ALL)


@pytest.mark.parametrize("method", METHODS)
async def test_a_served_peer_answers(transport: Transport, method: str) -> None:
    served = await transport.serve()
    answer = await calls.ALL[method](transport.clients, served.peer)
    expected: dict[str, object] = {
        "GetRecords": [RECORD],
        "ListNames": ["contract.bin"],
        "Upload": served.peer,
        "Download": [Chunk(0, 0, DATA)],
    }
    if method in expected:
        assert answer == expected[method]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("how", ["never-there", "crashed"])
async def test_a_dead_peer_is_unavailable(transport: Transport, method: str, how: str) -> None:
    if how == "crashed":
        served = await transport.serve()
        await transport.crash(served)
        peer = served.peer
    else:
        peer = await transport.absent()
    with pytest.raises(PeerUnavailable) as caught:
        await calls.ALL[method](transport.clients, peer)
    assert str(caught.value).startswith(calls.failed(method, peer, "UNAVAILABLE"))


@pytest.mark.parametrize("method", METHODS)
async def test_a_handler_slower_than_the_deadline_is_a_timeout(
    transport: Transport, method: str
) -> None:
    served = await transport.serve()
    hasty = await transport.slow(served)
    async with asyncio.timeout(DEADLINE * 25):  # the call's own deadline must end it
        with pytest.raises(PeerTimeout) as caught:
            await calls.ALL[method](hasty, served.peer)
    assert str(caught.value).startswith(calls.failed(method, served.peer, "DEADLINE_EXCEEDED"))


@pytest.mark.parametrize("method", [*calls.RECORDS, *calls.TRANSFER])
async def test_a_subsystem_the_peer_does_not_serve_is_unimplemented(
    transport: Transport, method: str
) -> None:
    served = await transport.serve(records=False, transfer=False)
    with pytest.raises(PeerProtocolError) as caught:
        await calls.ALL[method](transport.clients, served.peer)
    assert str(caught.value) == (
        calls.failed(method, served.peer, "UNIMPLEMENTED") + f": {UNIMPLEMENTED_DETAILS}"
    )


async def test_a_provider_crashing_mid_stream_is_unavailable(transport: Transport) -> None:
    served = await transport.serve()
    served.script.pause_after_first = True
    stream = transport.clients.transfer.download(served.peer, MANIFEST.content_hash, 0, 1)
    try:
        first = await anext(stream)
        assert first.piece == 0
        await transport.crash(served)
        served.script.release.set()
        with pytest.raises(PeerUnavailable):
            await anext(stream)
    finally:
        await stream.aclose()


@pytest.mark.parametrize("method", ["FindSuccessorStep", "GetRecords", "Download", "Upload"])
async def test_cancelling_the_caller_cancels_the_call(transport: Transport, method: str) -> None:
    served = await transport.serve()
    served.script.hang = True
    call = asyncio.ensure_future(calls.ALL[method](transport.clients, served.peer))
    async with asyncio.timeout(5):
        await served.script.entered.wait()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
