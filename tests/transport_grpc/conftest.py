"""Real ``grpc.aio`` servers on loopback (port 0), each serving a real ChordNode.

A node's ``PeerRef`` carries its address, which with port 0 is known only once the server has
bound; :class:`LateService` lets the server start first and the node be built afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from chordshare.clock import SystemClock
from chordshare.node.ring.chord import ChordNode
from chordshare.node.ring.settings import RingSettings
from chordshare.ring import IdSpace, NextHop, PeerRef, TrustClaimedIds
from chordshare.transport.grpc import GrpcPeerClient, GrpcServer, ServerMetrics
from chordshare.transport.ports.ring import NodeInfo, RingService

RPC_TIMEOUT = 2.0
"""Generous for loopback: a failing test should fail on its assertion, not on a slow machine."""


class LateService:
    """A RingService forwarding to ``target``, which is set after the server has started."""

    def __init__(self) -> None:
        self.target: RingService | None = None

    def _t(self) -> RingService:
        assert self.target is not None, "node not attached yet"
        return self.target

    async def get_node_info(self) -> NodeInfo:
        return await self._t().get_node_info()

    async def find_successor_step(self, key: int, exclude: Collection[int]) -> NextHop:
        return await self._t().find_successor_step(key, exclude)

    async def rectify(self, candidate: PeerRef) -> None:
        await self._t().rectify(candidate)

    async def leave_notice(
        self, leaving: PeerRef, predecessor: PeerRef | None, successors: tuple[PeerRef, ...]
    ) -> None:
        await self._t().leave_notice(leaving, predecessor, successors)

    async def ping(self) -> None:
        await self._t().ping()


ME = PeerRef(42, "127.0.0.1:1")
"""Who a ScriptedService claims to be."""


class ScriptedService:
    """A RingService whose every method runs ``script`` (raise, hang...) before answering."""

    def __init__(self, script: Any = None) -> None:
        self.script = script
        self.release = asyncio.Event()

    async def _run(self) -> None:
        if isinstance(self.script, BaseException):
            raise self.script
        if self.script == "hang":
            await self.release.wait()

    async def get_node_info(self) -> NodeInfo:
        await self._run()
        return NodeInfo(ME, None, ())

    async def find_successor_step(self, key: int, exclude: Collection[int]) -> NextHop:
        await self._run()
        return NextHop(True, (ME,))

    async def rectify(self, candidate: PeerRef) -> None:
        await self._run()

    async def leave_notice(
        self, leaving: PeerRef, predecessor: PeerRef | None, successors: tuple[PeerRef, ...]
    ) -> None:
        await self._run()

    async def ping(self) -> None:
        await self._run()


class ObservedMetrics(ServerMetrics):
    """Server metrics on a private registry that can be awaited.

    An aborted RPC's status reaches the client before the server's interceptor records it (gRPC
    sends the status from inside ``context.abort``), so tests wait for the recording instead of
    reading the registry right after the call returns.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        super().__init__(self.registry)
        self.observed = 0
        self._changed = asyncio.Event()

    def observe(self, method: str, code: str, seconds: float) -> None:
        super().observe(method, code, seconds)
        self.observed += 1
        self._changed.set()

    async def settled(self, rpcs: int) -> None:
        """Return once ``rpcs`` RPCs have been recorded (fail after ``RPC_TIMEOUT``)."""
        async with asyncio.timeout(RPC_TIMEOUT):
            while self.observed < rpcs:
                self._changed.clear()
                await self._changed.wait()

    def count(self, method: str, code: str, service: str = "chordshare.ring.v1.Ring") -> float:
        labels = {"grpc_service": service, "grpc_method": method, "grpc_code": code}
        value = self.registry.get_sample_value("chordshare_grpc_server_handled_total", labels)
        return value or 0.0


@dataclass
class GrpcNode:
    node: ChordNode
    server: GrpcServer
    client: GrpcPeerClient
    metrics: ObservedMetrics

    @property
    def me(self) -> PeerRef:
        return self.node.me


class Nodes:
    """Starts ChordNodes behind real gRPC servers; stops everything at teardown."""

    def __init__(self) -> None:
        self.started: list[GrpcNode] = []
        self.servers: list[GrpcServer] = []
        self.clients: list[GrpcPeerClient] = []

    async def serve(
        self,
        service: RingService,
        space: IdSpace,
        host: str = "127.0.0.1",
        metrics: ServerMetrics | None = None,
    ) -> GrpcServer:
        """Serve any RingService; the server is stopped at teardown."""
        server = GrpcServer(
            service, host, 0, space=space, metrics=metrics or ServerMetrics(CollectorRegistry())
        )
        self.servers.append(server)
        await server.start()
        return server

    def client(self, space: IdSpace, timeout: float = RPC_TIMEOUT) -> GrpcPeerClient:
        client = GrpcPeerClient(timeout, space=space)
        self.clients.append(client)
        return client

    async def start(
        self,
        ident: int,
        space: IdSpace,
        host: str = "127.0.0.1",
        settings: RingSettings | None = None,
    ) -> GrpcNode:
        late = LateService()
        metrics = ObservedMetrics()
        server = await self.serve(late, space, host, metrics)
        address = server.address
        me = PeerRef(ident, address, f"http://{host}:1")
        client = self.client(space)
        node = ChordNode(
            space,
            me,
            client,
            SystemClock(),
            settings or RingSettings(),
            identity=TrustClaimedIds(),  # hand-picked ids on real sockets
        )
        late.target = node
        started = GrpcNode(node, server, client, metrics)
        self.started.append(started)
        return started

    async def close(self) -> None:
        for server in self.servers:
            await server.stop(0)
        for client in self.clients:
            await client.close()


@pytest.fixture
async def nodes() -> AsyncIterator[Nodes]:
    harness = Nodes()
    try:
        yield harness
    finally:
        await harness.close()
