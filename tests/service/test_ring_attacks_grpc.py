"""Ring takeover attempts over real gRPC on loopback: a Rectify with a made-up id is refused
with INVALID_ARGUMENT, and one naming a correct-id address where nothing answers is not adopted;
the predecessors and successors of three real nodes stay right."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc
import pytest

from chordshare.node.ring.chord import ChordNode
from chordshare.transport.grpc.generated import ring_pb2, ring_pb2_grpc
from tests.service.conftest import Running, wait_ring


def ring_node(running: Running) -> ChordNode:
    assert running.service.node is not None
    return running.service.node


def peer(ident: int, address: str) -> ring_pb2.Peer:
    return ring_pb2.Peer(id=ident.to_bytes(20, "big"), grpc_address=address)


async def test_rectify_with_a_made_up_or_silent_peer_changes_nothing(
    launch: Callable[..., Awaitable[Running]],
) -> None:
    first = await launch()
    nodes = [first, await launch(seeds=[first.url]), await launch(seeds=[first.url])]
    await wait_ring(first, 3)
    a, b, c = sorted((ring_node(r) for r in nodes), key=lambda n: n.me.id)
    silent = "127.0.0.1:1"  # nothing listens on port 1
    async with grpc.aio.insecure_channel(b.me.grpc_address) as channel:
        stub = ring_pb2_grpc.RingStub(channel)
        made_up = ring_pb2.RectifyRequest(candidate=peer(b.me.id - 1, silent))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.Rectify(made_up, timeout=5)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        # an id that derives from its address, but nobody answers there
        derived = b.space.node_id(silent)
        await stub.Rectify(ring_pb2.RectifyRequest(candidate=peer(derived, silent)), timeout=10)
    assert b.table.predecessor == a.me
    assert a.table.successor == b.me
    assert c.table.successor == a.me
    assert len(await wait_ring(first, 3)) == 3
