"""One host cannot multiply its share of a node by opening connections: fifty channels of four
download streams each, from one loopback address, get the per-host bound of streams and no
more; the rest are refused with RESOURCE_EXHAUSTED before any file is opened, the admitted ones
complete with the right bytes, and the node serves the next request as usual."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace

import grpc
import pytest

from chordshare.errors import LimitExceeded
from chordshare.transport.grpc.hosts import (
    DEFAULT_MAX_STREAMS_PER_HOST,
    calls_per_host,
    host_key,
    remote_host,
)
from chordshare.transport.grpc.transfer.client import GrpcTransferClient
from chordshare.transport.grpc.transfer.codec import (
    DOWNLOAD_METHOD,
    decode_chunk,
    encode_download_request,
)
from chordshare.transport.ports.transfer import Chunk

from .conftest import SMALL_PIECE, NodeFactory
from .test_refusals import CONTENT, Stalling

CHANNELS = 50
STREAMS_PER_CHANNEL = 4
PIECES = 4  # CONTENT is 3 pieces and 10 bytes


def own_connection(target: str) -> grpc.aio.Channel:
    """A channel with a connection of its own (gRPC otherwise shares one between channels to
    the same target), as an attacker opening many connections gets."""
    return grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])


def identity(message: bytes) -> bytes:
    return message


async def first_message(call: grpc.aio.UnaryStreamCall) -> bytes | grpc.StatusCode:
    """The first chunk an admitted stream sends, or the status of a refused one."""
    try:
        message = await call.read()
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    assert isinstance(message, bytes)
    return message


async def remaining(call: grpc.aio.UnaryStreamCall) -> list[bytes]:
    out = []
    while (message := await call.read()) is not grpc.aio.EOF:
        assert isinstance(message, bytes)
        out.append(message)
    return out


async def test_fifty_connections_from_one_host_get_the_host_bound(
    grpc_nodes: NodeFactory, client: GrpcTransferClient
) -> None:
    Stalling.release = asyncio.Event()
    node = await grpc_nodes(wrap=Stalling)
    manifest = node.share("f", CONTENT, SMALL_PIECE)
    request = encode_download_request(manifest.content_hash, 0, PIECES)
    channels = [own_connection(node.ref.grpc_address) for _ in range(CHANNELS)]
    try:
        calls = [
            channel.unary_stream(DOWNLOAD_METHOD, response_deserializer=identity)(request)
            for channel in channels
            for _ in range(STREAMS_PER_CHANNEL)
        ]
        async with asyncio.timeout(60):
            firsts = await asyncio.gather(*(first_message(c) for c in calls))
        admitted = [c for c, first in zip(calls, firsts, strict=True) if isinstance(first, bytes)]
        refused = [f for f in firsts if not isinstance(f, bytes)]
        assert len(admitted) == DEFAULT_MAX_STREAMS_PER_HOST
        assert set(refused) == {grpc.StatusCode.RESOURCE_EXHAUSTED}
        assert len(refused) == CHANNELS * STREAMS_PER_CHANNEL - DEFAULT_MAX_STREAMS_PER_HOST
        details = await next(
            c for c, f in zip(calls, firsts, strict=True) if f in refused
        ).details()
        assert "concurrent streams from ipv4:127.0.0.1" in details

        Stalling.release.set()
        async with asyncio.timeout(60):
            for call, first in zip(calls, firsts, strict=True):
                if not isinstance(first, bytes):
                    continue
                rest = await remaining(call)
                chunks = [decode_chunk(m) for m in (first, *rest)]
                assert all(isinstance(c, Chunk) for c in chunks)
                data = b"".join(bytes(c.data) for c in chunks if isinstance(c, Chunk))
                assert data == CONTENT
    finally:
        await asyncio.gather(*(channel.close() for channel in channels))
    # every slot was given back: the next honest download is served in full
    got = [c async for c in client.download(node.ref, manifest.content_hash, 0, PIECES)]
    assert b"".join(bytes(c.data) for c in got) == CONTENT


@pytest.mark.parametrize(
    ("peer", "host"),
    [
        ("ipv4:127.0.0.1:51234", "ipv4:127.0.0.1"),
        ("ipv4:10.1.2.3:1", "ipv4:10.1.2.3"),
        ("ipv6:[::1]:5000", "ipv6:::/64"),
        ("ipv6:[2001:db8:1:2:aaaa::1]:5000", "ipv6:2001:db8:1:2::/64"),
        ("ipv6:[2001:db8:1:2:bbbb::9]:6000", "ipv6:2001:db8:1:2::/64"),
        ("ipv6:[fe80::1%eth0]:7000", "ipv6:fe80::/64"),
        ("unix:/run/chordshare.sock", "unix"),
        ("unix-abstract:name", "unix"),
        ("mem-1f", "mem-1f"),
        ("ipv6:[not-an-address]:1", "ipv6:[not-an-address]:1"),
    ],
)
def test_remote_host_keys(peer: str, host: str) -> None:
    assert remote_host(peer) == host


def test_the_host_key_is_the_certificate_when_there_is_one() -> None:
    plain = SimpleNamespace(peer=lambda: "ipv4:127.0.0.1:4000", auth_context=dict)
    assert host_key(plain) == "ipv4:127.0.0.1"


class Context:
    def __init__(self, peer: str) -> None:
        self._peer = peer

    def peer(self) -> str:
        return self._peer

    def auth_context(self) -> dict[str, list[bytes]]:
        return {}


async def test_calls_are_bounded_per_host_and_given_back() -> None:
    bounded = calls_per_host(3)
    async with contextlib.AsyncExitStack() as stack:
        for port in (1, 2, 3):  # three connections of one host
            await stack.enter_async_context(bounded("/m", Context(f"ipv4:10.0.0.1:{port}")))
        with pytest.raises(LimitExceeded, match=r"3 concurrent calls from ipv4:10\.0\.0\.1"):
            await stack.enter_async_context(bounded("/m", Context("ipv4:10.0.0.1:4")))
        # another host is not affected
        await stack.enter_async_context(bounded("/m", Context("ipv4:10.0.0.2:1")))
    # all given back, also by a call that failed inside
    with pytest.raises(RuntimeError):
        async with bounded("/m", Context("ipv4:10.0.0.1:5")):
            raise RuntimeError("handler failed")
    async with contextlib.AsyncExitStack() as stack:
        for port in (6, 7, 8):
            await stack.enter_async_context(bounded("/m", Context(f"ipv4:10.0.0.1:{port}")))
