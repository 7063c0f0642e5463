"""Every Ring RPC end to end: GrpcPeerClient -> real server -> real ChordNode, and back."""

from __future__ import annotations

import pytest

from chordshare.errors import PeerUnavailable
from chordshare.ring import IdSpace, NextHop, PeerRef
from chordshare.transport.ports.ring import NodeInfo

from .conftest import Nodes

SPACE = IdSpace(160)
LOW = 0
"""Id 0 is an ordinary id (never "none"): it must survive the wire."""
HIGH = SPACE.size - 1
"""The largest 160-bit id: 20 bytes of 0xff."""


async def test_ping_and_node_info_of_a_lone_node(nodes: Nodes) -> None:
    a = await nodes.start(LOW, SPACE)
    asker = nodes.client(SPACE)
    await asker.ping(a.me)
    info = await asker.get_node_info(a.me)
    assert info == NodeInfo(a.me, None, ())


async def test_join_rectify_step_and_leave_over_grpc(nodes: Nodes) -> None:
    a = await nodes.start(LOW, SPACE)
    b = await nodes.start(HIGH, SPACE, host="127.0.0.2")
    asker = nodes.client(SPACE)

    # join drives FindSuccessorStep, GetNodeInfo and Rectify over the wire
    await b.node.join(a.me)
    # a lone node that is rectified also takes the candidate as its successor
    assert await asker.get_node_info(a.me) == NodeInfo(a.me, b.me, (b.me,))
    await a.node.stabilize()
    await b.node.stabilize()
    assert await asker.get_node_info(a.me) == NodeInfo(a.me, b.me, (b.me,))
    assert await asker.get_node_info(b.me) == NodeInfo(b.me, a.me, (a.me,))

    # FindSuccessorStep answers exactly what the node answers locally, exclude included
    for key in (LOW, 1, SPACE.size // 2, HIGH - 1, HIGH):
        for exclude in (frozenset(), frozenset({HIGH})):
            remote = await asker.find_successor_step(a.me, key, exclude)
            assert remote == await a.node.find_successor_step(key, exclude)
            assert isinstance(remote, NextHop)
    assert (await asker.find_successor_step(a.me, HIGH, ())).peers[0] == b.me

    # Rectify: a closer candidate is adopted only once it answers at its address with its id
    # (the ping-back goes over gRPC too); nothing answers at 127.0.0.9:1, so a stays
    closer = PeerRef(HIGH - 5, "127.0.0.9:1", "http://127.0.0.9:2")
    await asker.rectify(b.me, closer)
    assert b.node.table.predecessor == a.me

    # LeaveNotice: b leaves gracefully and a closes the gap at once
    await b.node.leave()
    assert await asker.get_node_info(a.me) == NodeInfo(a.me, None, ())


async def test_a_different_node_at_the_address_is_unavailable(nodes: Nodes) -> None:
    a = await nodes.start(1234, SPACE)
    impostor = PeerRef(4321, a.me.grpc_address)
    asker = nodes.client(SPACE)
    with pytest.raises(PeerUnavailable, match="different node"):
        await asker.get_node_info(impostor)
    with pytest.raises(PeerUnavailable, match="different node"):
        await asker.ping(impostor)


async def test_calls_after_close_are_unavailable(nodes: Nodes) -> None:
    a = await nodes.start(7, SPACE)
    asker = nodes.client(SPACE)
    await asker.ping(a.me)
    await asker.close()
    with pytest.raises(PeerUnavailable, match="closed"):
        await asker.ping(a.me)


async def test_server_metrics_count_calls_by_method_and_code(nodes: Nodes) -> None:
    a = await nodes.start(7, SPACE)
    asker = nodes.client(SPACE)
    for _ in range(3):
        await asker.ping(a.me)
    await asker.get_node_info(a.me)
    await a.metrics.settled(4)
    assert a.metrics.count("Ping", "OK") == 3
    assert a.metrics.count("GetNodeInfo", "OK") == 1
    labels = {"grpc_service": "chordshare.ring.v1.Ring", "grpc_method": "Ping", "grpc_code": "OK"}
    count = "chordshare_grpc_server_handling_seconds_count"
    assert a.metrics.registry.get_sample_value(count, labels) == 3
