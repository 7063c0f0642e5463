"""The record RPCs over real gRPC on loopback: GrpcRecordClient -> GrpcServer (Records servicer
registered beside Ring) -> RecordNode, for three ChordNodes on 127.0.0.1-3, port 0."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from prometheus_client import CollectorRegistry

from chordshare.clock import SystemClock
from chordshare.errors import PeerProtocolError
from chordshare.model.manifest import FileRecord
from chordshare.model.records import RecordKey, RecordPage
from chordshare.node.records.node import RecordNode
from chordshare.node.ring.chord import ChordNode
from chordshare.node.ring.settings import RingSettings
from chordshare.ring import IdSpace, PeerRef, TrustClaimedIds
from chordshare.storage.records.store import RecordStore
from chordshare.transport.grpc import GrpcPeerClient, GrpcServer, ServerMetrics
from chordshare.transport.grpc.generated import records_pb2 as pb
from chordshare.transport.grpc.generated import records_pb2_grpc
from chordshare.transport.grpc.records.client import GrpcRecordClient
from chordshare.transport.grpc.records.servicer import RECORDS_SERVICE_NAME, records_registrar
from tests.records.factory import WallClock, provider, record
from tests.transport_grpc.conftest import LateService

SPACE = IdSpace(160)
TOP = SPACE.size - 1
RPC_TIMEOUT = 5.0
"""Generous for loopback: a failing test should fail on its assertion, not a slow machine."""


class LateRecords:
    """A RecordService forwarding to ``target``, set once the node exists: a node's address (and
    so its RecordNode) is known only after its server bound port 0."""

    def __init__(self) -> None:
        self.target: RecordNode | None = None

    def _t(self) -> RecordNode:
        assert self.target is not None, "node not attached yet"
        return self.target

    async def store_records(self, records: Sequence[FileRecord], replicate: bool) -> None:
        await self._t().store_records(records, replicate)

    async def get_records(self, name: str) -> list[FileRecord]:
        return await self._t().get_records(name)

    async def fetch_range(self, start: int, end: int, after: RecordKey | None) -> RecordPage:
        return await self._t().fetch_range(start, end, after)

    async def range_digest(self, start: int, end: int) -> bytes:
        return await self._t().range_digest(start, end)

    async def list_names(self, after: str, limit: int) -> list[str]:
        return await self._t().list_names(after, limit)


class VouchingClient(GrpcRecordClient):
    """The gRPC record client, except that the invented providers of these tests (at addresses
    no test server listens on) answer ``Provides`` with "I am that node and I hold it"."""

    def __init__(self, peers: GrpcPeerClient, servers: set[str]) -> None:
        super().__init__(peers, timeout=RPC_TIMEOUT)
        self.servers = servers

    async def provides(self, peer: PeerRef, key: RecordKey) -> tuple[int, bool]:
        if peer.grpc_address in self.servers:
            return await super().provides(peer, key)
        return peer.id, True


@dataclass
class Net:
    root: Path
    wall: WallClock = field(default_factory=WallClock)
    closers: list[Any] = field(default_factory=list)
    servers: set[str] = field(default_factory=set)

    async def start(self, ident: int, host: str) -> RecordNode:
        ring, records = LateService(), LateRecords()
        server = GrpcServer(ring, host, 0, space=SPACE, metrics=ServerMetrics(CollectorRegistry()))
        server.add_servicer(records_registrar(records, SPACE))
        await server.start()
        assert RECORDS_SERVICE_NAME in server.services
        peers = GrpcPeerClient(RPC_TIMEOUT, space=SPACE)
        me = PeerRef(ident, server.address, f"http://{host}:1")
        node = ChordNode(
            SPACE,
            me,
            peers,
            SystemClock(),
            RingSettings(successor_list_size=4),
            identity=TrustClaimedIds(),  # hand-picked ids on real sockets
        )
        store = await RecordStore.open(self.root / f"n{ident:x}", SPACE, wall_clock=self.wall)
        self.servers.add(server.address)
        rec = RecordNode(node, store, VouchingClient(peers, self.servers))
        ring.target, records.target = node, rec
        self.closers += [server, peers, store]
        return rec

    async def close(self) -> None:
        for item in self.closers:
            if isinstance(item, GrpcServer):
                await item.stop(0)
            else:
                await item.close()


@pytest.fixture
async def net(tmp_path: Path) -> AsyncIterator[Net]:
    n = Net(tmp_path)
    try:
        yield n
    finally:
        await n.close()


async def ring_of_three(net: Net) -> list[RecordNode]:
    nodes = [
        await net.start(0, "127.0.0.1"),  # id 0 is an ordinary id, on the wire too
        await net.start(SPACE.size // 2, "127.0.0.2"),
        await net.start(TOP, "127.0.0.3"),
    ]
    for rec in nodes[1:]:
        await rec.node.join(nodes[0].me)
    for _ in range(4):
        for rec in nodes:
            await rec.node.stabilize()
    for rec in nodes:
        assert rec.node.table.predecessor is not None
    return nodes


async def test_publish_find_and_range_over_grpc(net: Net) -> None:
    nodes = await ring_of_three(net)
    now = net.wall.now
    records = [
        record(f"file-{i}.bin", provider(i, now + 600), content=str(i), pieces=i % 4)
        for i in range(12)
    ]
    for i, r in enumerate(records):
        await nodes[i % 3].publish(r)
    for rec in nodes:
        for r in records:
            assert await rec.find(r.name) == [r]
    # k = 3 on a ring of three: everyone holds everything, byte for byte.
    for rec in nodes:
        held = [r for r in await rec.store.scan(0, 0) if not r.word]
        assert sorted(held, key=lambda r: r.name) == sorted(records, key=lambda r: r.name)
    asker = nodes[0].client
    peer = nodes[1].me
    page = await asker.fetch_range(peer, TOP, TOP, None)  # the whole ring, from the top id
    assert {RecordKey.of(r) for r in page.records if not r.word} == {
        RecordKey.of(r) for r in records
    }
    assert not page.more
    assert await asker.range_digest(peer, 0, 0) == await nodes[0].store.digest(0, 0)
    names = sorted(r.name for r in records)
    assert await asker.list_names(peer, "", 5) == names[:5]
    assert await asker.list_names(peer, names[4], 1000) == names[5:]
    assert await nodes[2].network_names(limit=1000) == names


async def test_take_over_and_hand_off_over_grpc(net: Net) -> None:
    a = await net.start(10, "127.0.0.1")
    records = [record(f"h{i}.txt", provider(1, net.wall.now + 600)) for i in range(30)]
    for r in records:
        await a.publish(r)
    b = await net.start(SPACE.size // 3, "127.0.0.2")
    await b.node.join(a.me)
    # two nodes, k = 3: b replicates everything, each name record with its two word entries
    # ("h0.txt": "0" and "txt"; the lone letter is not a word)
    assert await b.take_over() == 3 * len(records)
    await a.node.stabilize()
    await b.node.stabilize()
    assert await b.hand_off() == 3 * len(records)
    await b.node.leave()
    assert await a.store.count() == len(records)


async def test_malformed_requests_get_invalid_argument(net: Net) -> None:
    rec = await net.start(5, "127.0.0.1")
    good = record("ok.txt", provider(1, net.wall.now + 60), pieces=2)
    channel = grpc.aio.insecure_channel(rec.me.grpc_address)
    stub = records_pb2_grpc.RecordsStub(channel)
    codec_msg = GrpcRecordClient(GrpcPeerClient(RPC_TIMEOUT, space=SPACE))._codec.encode_record
    try:
        bad_records: list[pb.FileRecord] = []
        msg = codec_msg(good)
        msg.name = "../escape"
        bad_records.append(msg)
        msg = codec_msg(good)
        msg.piece_hashes = msg.piece_hashes[:-1]  # not whole digests
        bad_records.append(msg)
        msg = codec_msg(good)
        msg.content_hash = bytes(32)  # not the hash of the pieces
        bad_records.append(msg)
        msg = codec_msg(good)
        msg.size = 10 * msg.piece_size  # piece count does not match the size
        bad_records.append(msg)
        msg = codec_msg(good)
        msg.providers[0].node_id = b""  # an empty id is never valid
        bad_records.append(msg)
        msg = codec_msg(good)
        del msg.providers[:]
        bad_records.append(msg)
        for bad in bad_records:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.StoreRecords(pb.StoreRecordsRequest(records=[bad]), timeout=RPC_TIMEOUT)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, bad
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.ListNames(pb.ListNamesRequest(limit=5000), timeout=RPC_TIMEOUT)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.FetchRange(
                pb.FetchRangeRequest(start=b"\x01" * 21, end=b"\x00"), timeout=RPC_TIMEOUT
            )
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert await rec.store.count() == 0
    finally:
        await channel.close()
    # Through the client, a refusal is a PeerProtocolError naming the reason.
    asker = net.closers[1]
    client = GrpcRecordClient(asker, timeout=RPC_TIMEOUT)
    with pytest.raises(PeerProtocolError, match=r"INVALID_ARGUMENT.*separator"):
        await client.get_records(rec.me, "a/b")
