"""A spoofed leave notice over real gRPC: three NodeServices on loopback, and a client that is
none of them telling each neighbour of a node that it is leaving."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from chordshare.node.ring.chord import ChordNode
from chordshare.transport.grpc.ring.client import GrpcPeerClient
from tests.node.test_leave_notice import FAKE, spoof
from tests.service.conftest import Running, wait_ring


def ring_node(running: Running) -> ChordNode:
    assert running.service.node is not None
    return running.service.node


async def test_a_spoofed_leave_notice_over_grpc_is_ignored(
    launch: Callable[..., Awaitable[Running]],
) -> None:
    """Three real nodes; a client that is none of them tells each neighbour of n2 that n2 is
    leaving, with a fake peer as its successor: neither believes it, and the ring stays whole."""
    first = await launch()
    nodes = [first, await launch(seeds=[first.url]), await launch(seeds=[first.url])]
    await wait_ring(first, 3)
    ring = sorted((ring_node(r) for r in nodes), key=lambda n: n.me.id)
    a, b, c = ring
    client = GrpcPeerClient(2.0, space=a.space)
    try:
        await spoof(client, a.me, b.me)
        await spoof(client, c.me, b.me)
    finally:
        await client.close()
    assert a.table.successors.peers()[0] == b.me
    assert c.table.predecessor == b.me
    assert FAKE.id not in {p.id for n in ring for p in n.table.successors.peers()}
    assert len(await wait_ring(first, 3)) == 3
