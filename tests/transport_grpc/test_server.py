"""Server features beyond the Ring service: health, reflection, extra services, lifecycle."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client import CollectorRegistry

from chordshare.errors import NotFound
from chordshare.ring import IdSpace
from chordshare.transport.grpc import RING_SERVICE_NAME, GrpcServer, ServerMetrics, join_host_port

from .conftest import Nodes, ObservedMetrics, ScriptedService

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture
async def channel_to() -> AsyncIterator[Any]:
    opened: list[Any] = []

    def make(server: GrpcServer) -> Any:
        channel = grpc.aio.insecure_channel(server.address)
        opened.append(channel)
        return channel

    yield make
    for channel in opened:
        await channel.close()


async def test_health_is_serving_once_started_and_not_serving_on_stop(
    nodes: Nodes, channel_to: Any
) -> None:
    server = await nodes.serve(ScriptedService(), IdSpace())
    stub = health_pb2_grpc.HealthStub(channel_to(server))
    for name in ("", RING_SERVICE_NAME):
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=name))
        assert reply.status == SERVING

    watch = stub.Watch(health_pb2.HealthCheckRequest(service=""))
    assert (await watch.read()).status == SERVING
    stopping = asyncio.create_task(server.stop(5.0))
    assert (await watch.read()).status == NOT_SERVING
    watch.cancel()  # the last open RPC: stop completes without waiting out its grace
    await stopping
    await server.stop(0)  # stopping twice is harmless


async def test_reflection_lists_and_describes_the_ring_service(
    nodes: Nodes, channel_to: Any
) -> None:
    server = await nodes.serve(ScriptedService(), IdSpace())
    stub = reflection_pb2_grpc.ServerReflectionStub(channel_to(server))
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol=RING_SERVICE_NAME),
    ]
    replies = [reply async for reply in stub.ServerReflectionInfo(iter(requests))]
    listed = {s.name for s in replies[0].list_services_response.service}
    assert {RING_SERVICE_NAME, "grpc.health.v1.Health"} <= listed
    assert "grpc.reflection.v1alpha.ServerReflection" in listed
    files = replies[1].file_descriptor_response.file_descriptor_proto
    assert any(b"chordshare/ring.proto" in f for f in files)


async def test_added_services_get_health_error_translation_and_metrics(
    nodes: Nodes, channel_to: Any
) -> None:
    async def echo(request: bytes, context: Any) -> bytes:
        if request == b"missing":
            raise NotFound("no such thing")
        return request

    def register_echo(server: Any) -> list[str]:
        handler = grpc.unary_unary_rpc_method_handler(echo)
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("test.Echo", {"Echo": handler}),)
        )
        return ["test.Echo"]

    metrics = ObservedMetrics()
    server = GrpcServer(ScriptedService(), "127.0.0.1", 0, metrics=metrics)
    server.add_servicer(register_echo)
    nodes.servers.append(server)
    await server.start()
    assert server.services == (RING_SERVICE_NAME, "test.Echo")
    with pytest.raises(RuntimeError, match="before start"):
        server.add_servicer(register_echo)

    channel = channel_to(server)
    call = channel.unary_unary("/test.Echo/Echo")
    assert await call(b"hello") == b"hello"
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call(b"missing")
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert info.value.details() == "NotFound: no such thing"

    health = health_pb2_grpc.HealthStub(channel)
    assert (await health.Check(health_pb2.HealthCheckRequest(service="test.Echo"))).status == (
        SERVING
    )
    await metrics.settled(3)  # two echoes and the health check
    assert metrics.count("Echo", "OK", service="test.Echo") == 1
    assert metrics.count("Echo", "NOT_FOUND", service="test.Echo") == 1


async def test_port_zero_binds_a_free_port(nodes: Nodes) -> None:
    server = await nodes.serve(ScriptedService(), IdSpace(), host="127.0.0.3")
    assert server.port is not None
    assert server.port > 0
    assert server.address == f"127.0.0.3:{server.port}"


def test_ipv6_hosts_are_bracketed() -> None:
    assert join_host_port("::1", 50051) == "[::1]:50051"
    assert join_host_port("[::1]", 50051) == "[::1]:50051"
    assert join_host_port("node.example", 1) == "node.example:1"


def test_shared_metrics_are_one_per_registry() -> None:
    registry = CollectorRegistry()
    assert ServerMetrics.shared(registry) is ServerMetrics.shared(registry)
    assert ServerMetrics.shared(registry) is not ServerMetrics.shared(CollectorRegistry())
