"""A call lost on the way is not a crash: a lookup must not name the next node as the owner
because the true owner missed one call, while that next node still knows the owner as its
predecessor. A real crash is still routed around within the same lookup."""

from __future__ import annotations

import pytest

from chordshare.node.ring.chord import ChordNode
from chordshare.sim.cluster import MemoryCluster


async def converged(n: int, seed: int) -> MemoryCluster:
    cluster = MemoryCluster(bits=32, seed=seed)
    for _ in range(n):
        await cluster.join()
    await cluster.converge()
    await cluster.refresh_fingers()
    return cluster


def askers(cluster: MemoryCluster, owner: int) -> list[ChordNode]:
    return [node for ident, node in sorted(cluster.nodes.items()) if ident != owner]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_an_owner_that_missed_one_call_is_still_named(seed: int) -> None:
    cluster = await converged(12, seed)
    oracle = cluster.oracle()
    checked = 0
    for i in range(40):
        key = cluster.rng.randrange(cluster.space.size)
        owner = cluster.nodes[oracle.successor(key)]
        for asker in askers(cluster, owner.me.id)[i % 3 :: 4]:
            cluster.network.lose_next(owner.me.grpc_address)
            result = await asker.find_successor(key)
            assert cluster.network.losses_pending(owner.me.grpc_address) == 0  # it was asked
            assert result.owner.id == owner.me.id, (asker, key)
            checked += 1
    assert checked > 40


async def test_a_crashed_owner_is_still_routed_around() -> None:
    cluster = await converged(12, 4)
    oracle = cluster.oracle()
    key = cluster.rng.randrange(cluster.space.size)
    owner = cluster.nodes[oracle.successor(key)]
    cluster.crash(owner)
    after = cluster.oracle()
    for asker in cluster.nodes.values():
        result = await asker.find_successor(key)
        assert result.owner.id == after.successor(key)
