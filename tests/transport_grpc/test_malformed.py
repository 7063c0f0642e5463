"""Bytes that are not the request message: INVALID_ARGUMENT with a fixed text, for every method
of every service the node's server exposes (ring, records, transfer, health, reflection), a
warning per peer per minute at most and never a traceback."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import DecodeError
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chordshare.ring import IdSpace, PeerRef
from chordshare.transport.grpc import GrpcServer
from chordshare.transport.grpc.malformed import (
    MalformedRequestInterceptor,
    WarningLimiter,
    peer_host,
)
from chordshare.transport.grpc.records.servicer import records_registrar
from chordshare.transport.grpc.transfer.codec import SERVICE_NAME as TRANSFER_SERVICE
from chordshare.transport.grpc.transfer.servicer import (
    TransferServicer,
    transfer_handler,
    transfer_registrar,
)
from tests.transport_contract.stubs import Script, StubRecords, StubRing, StubTransfer

from .conftest import ObservedMetrics

SPACE = IdSpace(160)
TIMEOUT = 5.0
GARBAGE = (
    b"\xff" * 11,  # a tag varint longer than ten bytes
    b"\x0a\x05ab",  # a length-delimited field cut short
    b"\x07",  # field 0, wire type 7
)
INTERNALS = ("Error", "Exception", "Traceback", "google.", "protobuf", "File ")
FUZZ_EXAMPLES = 200
FUZZ_BUDGET = 60.0
"""Seconds the fuzz test may run in all (about a millisecond per call on loopback)."""


@dataclass
class Served:
    server: GrpcServer
    metrics: ObservedMetrics
    channel: Any


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    script = Script()
    ring = StubRing(script)
    metrics = ObservedMetrics()
    server = GrpcServer(ring, "127.0.0.1", 0, space=SPACE, metrics=metrics)
    server.add_servicer(records_registrar(StubRecords(script), SPACE))
    server.add_servicer(transfer_registrar(StubTransfer(script, ring), SPACE))
    await server.start()
    ring.me = PeerRef(1, server.address)
    channel = grpc.aio.insecure_channel(server.address)
    try:
        yield Served(server, metrics, channel)
    finally:
        await channel.close()
        script.release.set()
        await server.stop(0)


async def exposed_methods(channel: Any) -> list[MethodDescriptor]:
    """Every method of every service the server lists through reflection."""
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    ask = reflection_pb2.ServerReflectionRequest(list_services="")
    replies = [reply async for reply in stub.ServerReflectionInfo(iter([ask]), timeout=TIMEOUT)]
    names = [service.name for service in replies[0].list_services_response.service]
    pool = descriptor_pool.Default()
    return [
        method for name in names for method in pool.FindServiceByName(name).methods_by_name.values()
    ]


def path(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


async def call_raw(channel: Any, method: MethodDescriptor, *messages: bytes) -> grpc.StatusCode:
    """Send ``messages`` as they are; the status the call ends with (raises on OK)."""
    name = path(method)
    if method.client_streaming and method.server_streaming:
        call = channel.stream_stream(name)(iter(messages), timeout=TIMEOUT)
        _ = [reply async for reply in call]
    elif method.client_streaming:
        await channel.stream_unary(name)(iter(messages), timeout=TIMEOUT)
    elif method.server_streaming:
        call = channel.unary_stream(name)(messages[0], timeout=TIMEOUT)
        _ = [reply async for reply in call]
    else:
        await channel.unary_unary(name)(messages[0], timeout=TIMEOUT)
    raise AssertionError(f"{name} accepted {messages!r}")


def assert_fixed_details(details: str) -> None:
    assert not any(word in details for word in INTERNALS), details


async def rejected(channel: Any, method: MethodDescriptor, *messages: bytes) -> str:
    """Send ``messages``, assert INVALID_ARGUMENT with details free of Python internals, and
    return them (the transfer service's hand codec words its own)."""
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await call_raw(channel, method, *messages)
    assert failed.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (path(method), failed.value)
    details = failed.value.details() or ""
    assert_fixed_details(details)
    return details


async def test_every_method_rejects_garbage_with_invalid_argument(served: Served) -> None:
    methods = await exposed_methods(served.channel)
    services = {method.containing_service.full_name for method in methods}
    assert {
        "chordshare.ring.v1.Ring",
        "chordshare.records.v1.Records",
        TRANSFER_SERVICE,
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= services
    assert {"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"} <= {
        path(method) for method in methods
    }
    for method in methods:
        for garbage in GARBAGE:
            details = await rejected(served.channel, method, garbage)
            if method.containing_service.full_name != TRANSFER_SERVICE:  # its codec's own text
                assert details == f"malformed request: not a valid {method.input_type.full_name}"
    calls = len(methods) * len(GARBAGE)
    await served.metrics.settled(calls + 1)  # and the reflection call that listed them
    ping = served.metrics.count("Ping", "INVALID_ARGUMENT")
    assert ping == len(GARBAGE)


async def test_garbage_after_valid_messages_in_a_stream_is_rejected(served: Served) -> None:
    methods = {path(method): method for method in await exposed_methods(served.channel)}
    reflection = methods["/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"]
    valid = reflection_pb2.ServerReflectionRequest(list_services="").SerializeToString()
    details = await rejected(served.channel, reflection, valid, valid, GARBAGE[0])
    assert details == f"malformed request: not a valid {reflection.input_type.full_name}"


async def test_valid_requests_still_work(served: Served) -> None:
    methods = {path(method): method for method in await exposed_methods(served.channel)}
    check = methods["/grpc.health.v1.Health/Check"]
    request = check.input_type._concrete_class(service="").SerializeToString()
    reply = await served.channel.unary_unary(path(check))(request, timeout=TIMEOUT)
    assert check.output_type._concrete_class.FromString(reply).status == 1  # SERVING
    ping = methods["/chordshare.ring.v1.Ring/Ping"]
    await served.channel.unary_unary(path(ping))(b"", timeout=TIMEOUT)


async def test_an_unimplemented_method_says_so_without_a_traceback(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    """Health's ``List`` is the generated base class's synchronous default."""
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await served.channel.unary_unary("/grpc.health.v1.Health/List")(b"", timeout=TIMEOUT)
    assert failed.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert failed.value.details() == "method not implemented"
    assert "Traceback" not in caplog.text


FUZZED = (
    "/chordshare.ring.v1.Ring/Ping",
    "/chordshare.ring.v1.Ring/FindSuccessorStep",
    "/chordshare.records.v1.Records/GetRecords",
    "/grpc.health.v1.Health/Check",
)
VALID_OUTCOMES = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,  # parses, but the codec refuses the values
    grpc.StatusCode.NOT_FOUND,  # a health check of an unknown service
}


async def test_random_bytes_never_get_unknown_or_internal(served: Served) -> None:
    """Random byte strings to a few methods, from a synchronous channel in a worker thread while
    the server runs on this loop: whatever does not parse is INVALID_ARGUMENT with the fixed
    text, whatever parses ends as it would from a real client, never UNKNOWN or INTERNAL."""
    methods = {path(method): method for method in await exposed_methods(served.channel)}
    give_up = time.monotonic() + FUZZ_BUDGET

    def fuzz() -> None:
        with grpc.insecure_channel(served.server.address) as channel:

            @given(name=st.sampled_from(FUZZED), data=st.binary(max_size=64))
            @settings(
                max_examples=FUZZ_EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow],
            )
            def check(name: str, data: bytes) -> None:
                assert time.monotonic() < give_up, "the fuzz loop ran over its time budget"
                message = methods[name].input_type._concrete_class
                try:
                    message.FromString(data)
                    parses = True
                except DecodeError:
                    parses = False
                try:
                    channel.unary_unary(name)(data, timeout=TIMEOUT)
                    code, details = grpc.StatusCode.OK, ""
                except grpc.RpcError as exc:
                    code, details = exc.code(), exc.details() or ""
                assert_fixed_details(details)
                if parses:
                    assert code in VALID_OUTCOMES, (name, data, code, details)
                else:
                    assert code == grpc.StatusCode.INVALID_ARGUMENT, (name, data, code)
                    expected = f"malformed request: not a valid {message.DESCRIPTOR.full_name}"
                    assert details == expected

            check()

    async with asyncio.timeout(FUZZ_BUDGET + TIMEOUT):
        await asyncio.to_thread(fuzz)


async def test_a_flood_of_garbage_logs_a_line_and_no_traceback(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    methods = {path(method): method for method in await exposed_methods(served.channel)}
    ping = methods["/chordshare.ring.v1.Ring/Ping"]
    watch = methods["/grpc.health.v1.Health/Watch"]
    caplog.set_level(logging.INFO)
    for batch in range(10):  # 500 calls, 50 at a time
        method = watch if batch % 2 else ping
        await asyncio.gather(*(rejected(served.channel, method, GARBAGE[1]) for _ in range(50)))
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(warnings) <= 3, [record.getMessage() for record in warnings]
    assert len(warnings) >= 1  # the first one is said
    assert all(record.exc_info is None for record in caplog.records)
    assert "Traceback" not in caplog.text
    assert len(caplog.text) < 2000
    assert len(served.server.malformed) == 1  # one peer: 127.0.0.1, whatever the connection


def test_the_limiter_warns_once_per_peer_per_interval() -> None:
    now = [0.0]
    limiter = WarningLimiter(interval=60.0, max_peers=2, clock=lambda: now[0])
    assert limiter.admit("ipv4:10.0.0.1") == 0
    assert limiter.admit("ipv4:10.0.0.1") is None
    assert limiter.admit("ipv4:10.0.0.1") is None
    assert limiter.admit("ipv4:10.0.0.2") == 0
    now[0] = 59.9
    assert limiter.admit("ipv4:10.0.0.1") is None
    now[0] = 60.0
    assert limiter.admit("ipv4:10.0.0.1") == 3  # the three not logged since
    assert limiter.admit("ipv4:10.0.0.3") == 0  # forgets 10.0.0.2, the least recently warned
    assert len(limiter) == 2
    assert limiter.admit("ipv4:10.0.0.2") == 0
    with pytest.raises(ValueError, match="max_peers"):
        WarningLimiter(max_peers=0)


@pytest.mark.parametrize(
    ("peer", "host"),
    [
        ("ipv4:127.0.0.1:5000", "ipv4:127.0.0.1"),
        ("ipv6:[::1]:5000", "ipv6:[::1]"),
        ("unix:/tmp/socket", "unix:/tmp/socket"),
        ("ipv4:127.0.0.1", "ipv4:127.0.0.1"),
    ],
)
def test_peers_are_limited_by_host(peer: str, host: str) -> None:
    assert peer_host(peer) == host


def transfer_handlers() -> Iterator[tuple[str, Any]]:
    generic = transfer_handler(TransferServicer(StubTransfer(Script(), StubRing(Script()))))
    for name in ("Download", "Upload"):
        method = f"/{TRANSFER_SERVICE}/{name}"
        details = type("Details", (), {"method": method, "invocation_metadata": ()})()
        yield method, generic.service(details)


def test_the_transfer_codec_keeps_its_own_path() -> None:
    """Its deserializers never raise (they return their own ``Malformed``): left untouched."""
    guard = MalformedRequestInterceptor()
    for method, handler in transfer_handlers():
        assert handler is not None
        assert guard.guard(handler, method) is handler
    assert guard.guard(None, "/nowhere/Nothing") is None
