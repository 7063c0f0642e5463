"""The ``transport`` fixture: each contract scenario runs over the in-memory twin and over real
gRPC on loopback (127.0.0.1, port 0), against the same stub services.

A :class:`Transport` serves stub peers and hands out clients of the three subsystems. Faults are
made the way each transport makes them: a dead peer is a crashed twin registration or a stopped
gRPC server (or an address nothing ever listened at); a handler slower than the deadline is a
twin delay past its ``rpc_timeout`` (which fails at once on its manual clock) or a gRPC handler
that hangs past a short real deadline.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from prometheus_client import CollectorRegistry

from chordshare.clock import ManualClock
from chordshare.ring import IdSpace, PeerRef
from chordshare.transport.grpc import GrpcPeerClient, GrpcServer, ServerMetrics
from chordshare.transport.grpc.records.client import GrpcRecordClient
from chordshare.transport.grpc.records.servicer import records_registrar
from chordshare.transport.grpc.transfer.client import GrpcTransferClient
from chordshare.transport.grpc.transfer.servicer import transfer_registrar
from chordshare.transport.memory import (
    MemoryNetwork,
    MemoryPeerClient,
    MemoryRecordClient,
    MemoryTransferClient,
)
from chordshare.transport.ports.records import RecordClient
from chordshare.transport.ports.ring import PeerClient
from chordshare.transport.ports.transfer import TransferClient

from .stubs import Script, StubRecords, StubRing, StubTransfer

SPACE = IdSpace(160)
DEADLINE = 0.2
"""The short deadline of the slow-handler scenarios (real seconds over gRPC only)."""
RPC_TIMEOUT = 5.0
"""Every other call's deadline: generous, so that a slow machine never turns an answer into a
timeout."""


@dataclass(frozen=True)
class Clients:
    ring: PeerClient
    records: RecordClient
    transfer: TransferClient


@dataclass(frozen=True)
class Served:
    peer: PeerRef
    script: Script


class Transport:
    """Serves stub peers and calls them; subclasses say how, and how faults are made."""

    name: str
    clients: Clients

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.scripts: list[Script] = []

    def _script(self) -> Script:
        script = Script()
        self.scripts.append(script)
        return script

    async def serve(self, *, records: bool = True, transfer: bool = True) -> Served:
        """A new peer serving the ring, and records and transfers unless told not to."""
        raise NotImplementedError

    async def crash(self, served: Served) -> None:
        raise NotImplementedError

    async def absent(self) -> PeerRef:
        """A peer at an address nothing listens at."""
        raise NotImplementedError

    async def slow(self, served: Served) -> Clients:
        """Make ``served`` answer later than the deadline of the clients returned."""
        raise NotImplementedError

    async def close(self) -> None:
        for script in self.scripts:
            script.release.set()


class MemoryTransport(Transport):
    name = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.network = MemoryNetwork(ManualClock(), rpc_timeout=DEADLINE)
        source = "mem-caller"
        self.clients = Clients(
            MemoryPeerClient(self.network, source),
            MemoryRecordClient(self.network, source),
            MemoryTransferClient(self.network, source),
        )

    async def serve(self, *, records: bool = True, transfer: bool = True) -> Served:
        ident = next(self._ids)
        peer = PeerRef(ident, f"mem-{ident}")
        script = self._script()
        ring = StubRing(script, peer)
        self.network.register(
            peer,
            ring=ring,
            records=StubRecords(script) if records else None,
            transfer=StubTransfer(script, ring) if transfer else None,
        )
        return Served(peer, script)

    async def crash(self, served: Served) -> None:
        self.network.crash(served.peer.grpc_address)

    async def absent(self) -> PeerRef:
        return PeerRef(next(self._ids), "mem-nowhere")

    async def slow(self, served: Served) -> Clients:
        self.network.delay(served.peer.grpc_address, DEADLINE * 10)
        return self.clients


class GrpcTransport(Transport):
    name = "grpc"

    def __init__(self) -> None:
        super().__init__()
        self.servers: list[GrpcServer] = []
        self.peer_clients: list[GrpcPeerClient] = []
        self.clients = self._clients(RPC_TIMEOUT)

    def _clients(self, timeout: float) -> Clients:
        peers = GrpcPeerClient(timeout, space=SPACE)
        self.peer_clients.append(peers)
        transfer = GrpcTransferClient(
            timeout=timeout, idle_timeout=timeout, space=SPACE, channels=peers.channels
        )
        return Clients(peers, GrpcRecordClient(peers, timeout=timeout), transfer)

    async def serve(self, *, records: bool = True, transfer: bool = True) -> Served:
        script = self._script()
        ring = StubRing(script)
        server = GrpcServer(
            ring, "127.0.0.1", 0, space=SPACE, metrics=ServerMetrics(CollectorRegistry())
        )
        if records:
            server.add_servicer(records_registrar(StubRecords(script), SPACE))
        if transfer:
            server.add_servicer(transfer_registrar(StubTransfer(script, ring), SPACE))
        self.servers.append(server)
        await server.start()
        ring.me = PeerRef(next(self._ids), server.address)
        return Served(ring.me, script)

    async def crash(self, served: Served) -> None:
        for server in self.servers:
            if server.address == served.peer.grpc_address:
                await server.stop(0)

    async def absent(self) -> PeerRef:
        with socket.socket() as probe:  # a port that was free a moment ago, now closed
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        return PeerRef(next(self._ids), f"127.0.0.1:{port}")

    async def slow(self, served: Served) -> Clients:
        served.script.hang = True
        return self._clients(DEADLINE)

    async def close(self) -> None:
        await super().close()
        for server in self.servers:
            await server.stop(0)
        for peers in self.peer_clients:
            await peers.close()


@pytest.fixture(params=[MemoryTransport, GrpcTransport], ids=["memory", "grpc"])
async def transport(request: pytest.FixtureRequest) -> AsyncIterator[Transport]:
    made: Transport = request.param()
    try:
        yield made
    finally:
        await made.close()
