"""A departure is believed only from the node that departs: a leave notice naming another node
is checked by calling that node back (in-memory network; the gRPC version is in
tests/service/test_leave_notice_grpc.py)."""

from __future__ import annotations

from chordshare.node.ring.chord import ChordNode
from chordshare.ring import PeerRef
from chordshare.sim.cluster import MemoryCluster
from chordshare.transport.ports.ring import PeerClient

FAKE = PeerRef(12345, "127.0.0.250:1", "http://127.0.0.250:2")


async def ring_of_three() -> tuple[MemoryCluster, list[ChordNode]]:
    cluster = MemoryCluster(16, seed=4)
    for ident in (1000, 20000, 40000):
        await cluster.join(ident)
    for _ in range(6):
        await cluster.round()
    return cluster, [cluster.nodes[i] for i in (1000, 20000, 40000)]


async def spoof(client: PeerClient, target: PeerRef, leaving: PeerRef) -> None:
    """What an attacker sends: "``leaving`` is leaving, its successor is the fake peer"."""
    await client.leave_notice(target, leaving, None, (FAKE,))


async def test_a_spoofed_leave_notice_changes_nothing() -> None:
    cluster, (a, b, c) = await ring_of_three()
    outsider = cluster.network.client("mem-attacker")
    await spoof(outsider, a.me, b.me)  # b is a's successor and is not leaving
    assert a.table.successors.peers()[0] == b.me
    await spoof(outsider, c.me, b.me)  # b is c's predecessor
    assert c.table.predecessor == b.me


async def test_a_genuine_leave_still_splices_at_once() -> None:
    _, (a, b, c) = await ring_of_three()
    await b.leave()
    assert a.table.successors.peers()[0] == c.me
    assert c.table.predecessor == a.me


async def test_a_notice_for_a_dead_node_is_left_to_failure_detection() -> None:
    cluster, (a, b, _) = await ring_of_three()
    cluster.network.crash(b.me.grpc_address)
    await spoof(cluster.network.client("mem-attacker"), a.me, b.me)
    assert FAKE not in a.table.successors.peers()
