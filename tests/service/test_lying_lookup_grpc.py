"""A lying member over real gRPC on loopback: a fake peer (the project's own generated servicer)
that answers every lookup step with "done, I own it" is consulted by a real node's lookups (it
is one of that node's fingers), yet every lookup still names the owner the brute-force oracle
names, over the node's REST lookup route as well."""

from __future__ import annotations

import bisect
import random
from collections.abc import Awaitable, Callable

import grpc

from chordshare.client.rest import AsyncNodeApi
from chordshare.node.ring.chord import ChordNode
from chordshare.ring import IdSpace, PeerRef, in_half_open, in_open
from chordshare.transport.grpc.generated import ring_pb2, ring_pb2_grpc
from tests.service.conftest import Running, wait_ring


def wire(peer: PeerRef) -> ring_pb2.Peer:
    return ring_pb2.Peer(id=peer.id.to_bytes(20, "big"), grpc_address=peer.grpc_address)


class SelfNamingLiar(ring_pb2_grpc.RingServicer):
    """Claims to own every key it is asked about, and names a real node as its predecessor and
    another as its successor, as a member that lies only in its routing answers would."""

    def __init__(self) -> None:
        self.me: PeerRef | None = None
        self.predecessor: PeerRef | None = None
        self.successor: PeerRef | None = None
        self.steps = 0

    async def GetNodeInfo(  # noqa: N802 - the generated servicer's name
        self, request: ring_pb2.GetNodeInfoRequest, context: grpc.aio.ServicerContext
    ) -> ring_pb2.GetNodeInfoResponse:
        assert self.me
        assert self.predecessor
        assert self.successor
        return ring_pb2.GetNodeInfoResponse(
            peer=wire(self.me),
            predecessor=wire(self.predecessor),
            successors=[wire(self.successor)],
        )

    async def FindSuccessorStep(  # noqa: N802
        self, request: ring_pb2.FindSuccessorStepRequest, context: grpc.aio.ServicerContext
    ) -> ring_pb2.FindSuccessorStepResponse:
        assert self.me
        self.steps += 1
        return ring_pb2.FindSuccessorStepResponse(done=True, peers=[wire(self.me)])

    async def Ping(  # noqa: N802
        self, request: ring_pb2.PingRequest, context: grpc.aio.ServicerContext
    ) -> ring_pb2.PingResponse:
        assert self.me
        return ring_pb2.PingResponse(id=self.me.id.to_bytes(20, "big"))


def owner(ring: list[int], key: int) -> int:
    return ring[bisect.bisect_left(ring, key) % len(ring)]


def poison(node: ChordNode, liar: PeerRef) -> None:
    """The liar as every finger of ``node`` (as if it had learnt it as a member)."""
    for i in range(node.space.bits):
        node.table.fingers.set(i, liar)


def ring_node(running: Running) -> ChordNode:
    assert running.service.node is not None
    return running.service.node


async def test_a_self_naming_liar_on_the_lookup_path_never_names_the_owner(
    launch: Callable[..., Awaitable[Running]],
) -> None:
    # successor lists of one, so that lookups leave the asker's neighbourhood through fingers
    small = {"successor_list_size": 1, "replication_factor": 1}
    first = await launch(**small)
    nodes = [first] + [await launch(seeds=[first.url], **small) for _ in range(3)]
    await wait_ring(first, 4)
    real = sorted((ring_node(r) for r in nodes), key=lambda n: n.me.id)
    ids = [n.me.id for n in real]
    space: IdSpace = real[0].space

    liar = SelfNamingLiar()
    server = grpc.aio.server()
    ring_pb2_grpc.add_RingServicer_to_server(liar, server)
    port = server.add_insecure_port("127.0.0.1:0")
    address = f"127.0.0.1:{port}"
    liar.me = PeerRef(space.node_id(address), address)
    at = bisect.bisect_left(ids, liar.me.id)
    liar.predecessor = real[(at - 1) % len(real)].me  # the real node just before its id
    liar.successor = real[at % len(real)].me
    await server.start()
    try:
        asker_running = next(r for r in nodes if ring_node(r).me == liar.successor)
        asker = ring_node(asker_running)
        succ = asker.table.successor.id
        rng = random.Random(5)
        keys = []
        while len(keys) < 12:
            key = rng.randrange(space.size)
            # the liar precedes the key as seen from the asker, and the key is not the asker's
            # successor's: the asker's lookup takes the liar as its first hop
            if in_open(liar.me.id, asker.me.id, key, space.size) and not in_half_open(
                key, asker.me.id, succ, space.size
            ):
                keys.append(key)
        async with AsyncNodeApi(asker.me.http_url) as api:
            for key in keys:
                poison(asker, liar.me)
                result = await asker.find_successor(key)
                assert result.owner.id == owner(ids, key)
                poison(asker, liar.me)
                answer = await api.lookup_id(space.hex(key))
                assert int(answer.owner.id, 16) == owner(ids, key)
        assert liar.steps > 0, "the liar was never asked: the test did not test the check"
    finally:
        await server.stop(None)
    assert len(await wait_ring(first, 4)) == 4
