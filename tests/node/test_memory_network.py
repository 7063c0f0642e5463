"""The in-memory network fails loudly and deterministically, like a real one."""

from __future__ import annotations

import asyncio

import pytest

from chordshare.clock import ManualClock
from chordshare.errors import PeerTimeout, PeerUnavailable
from chordshare.ring import PeerRef
from chordshare.sim.cluster import MemoryCluster
from chordshare.transport.memory.network import MemoryNetwork


async def two_nodes() -> MemoryCluster:
    cluster = MemoryCluster(bits=16, seed=3)
    await cluster.join()
    await cluster.join()
    await cluster.converge()
    return cluster


async def test_unknown_and_crashed_addresses_fail_loudly() -> None:
    cluster = await two_nodes()
    a, b = cluster.nodes.values()
    with pytest.raises(PeerUnavailable, match="nothing answers"):
        await a.client.ping(PeerRef(1, "nowhere"))
    cluster.network.crash(b.me.grpc_address)
    with pytest.raises(PeerUnavailable):
        await a.client.ping(b.me)
    cluster.network.revive(b.me.grpc_address)
    await a.client.ping(b.me)


async def test_a_different_node_at_a_known_address_is_not_the_peer() -> None:
    cluster = await two_nodes()
    a, b = cluster.nodes.values()
    with pytest.raises(PeerUnavailable):
        await a.client.ping(PeerRef(b.me.id + 1, b.me.grpc_address))


async def test_partition_times_out_across_groups_only() -> None:
    cluster = await two_nodes()
    a, b = cluster.nodes.values()
    cluster.network.partition([{a.me.grpc_address}, {b.me.grpc_address}])
    with pytest.raises(PeerTimeout):
        await a.client.ping(b.me)
    await a.client.ping(a.me)  # same group
    cluster.network.heal()
    await a.client.ping(b.me)
    assert cluster.network.failures["timeout"] == 1


async def test_delay_takes_clock_time_and_long_delay_times_out() -> None:
    clock = ManualClock()
    net = MemoryNetwork(clock, rpc_timeout=2.0)
    cluster = await two_nodes()
    _, b = cluster.nodes.values()
    net.register(b.me, ring=b)
    client = net.client("x")
    net.delay(b.me.grpc_address, 0.5)
    call = asyncio.ensure_future(client.ping(b.me))
    await clock.advance(0.4)
    assert not call.done()
    await clock.advance(0.2)
    assert call.done()
    await call
    net.delay(b.me.grpc_address, 5.0)
    with pytest.raises(PeerTimeout):
        await client.ping(b.me)


async def test_loss_is_deterministic_under_a_seed() -> None:
    def outcomes(seed: int) -> list[bool]:
        net = MemoryNetwork(ManualClock(), seed=seed, loss=0.3)
        return [net.rng.random() < net.loss for _ in range(50)]

    assert outcomes(1) == outcomes(1)
    assert outcomes(1) != outcomes(2)


async def test_lossy_network_still_converges() -> None:
    cluster = MemoryCluster(bits=16, seed=12)
    for _ in range(10):
        await cluster.join()
    cluster.network.loss = 0.1
    for _ in range(30):
        await cluster.round()
    cluster.network.loss = 0.0
    await cluster.converge(max_rounds=30)
