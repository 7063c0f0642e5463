"""Multi-node behaviour of the real node algorithms on the in-memory network.

Every test is deterministic under its seed: maintenance runs in explicit rounds, and the
invariant checker runs after every membership change and every round.
"""

from __future__ import annotations

import math
import statistics

import pytest

from chordshare.errors import JoinFailed
from chordshare.node.ring.chord import ChordNode
from chordshare.node.ring.settings import RingSettings
from chordshare.ring import PeerRef
from chordshare.ring.invariants import check_converged, check_invariant, wrong_fingers
from chordshare.sim.cluster import MemoryCluster


async def assert_lookups_match_oracle(cluster: MemoryCluster, keys: int = 60) -> None:
    oracle = cluster.oracle()
    probe = [cluster.rng.randrange(cluster.space.size) for _ in range(keys)]
    probe += list(cluster.nodes)[:10]  # keys equal to node ids are owned by that node
    for node in cluster.nodes.values():
        for key in probe[:: max(1, len(cluster.nodes) // 8)]:
            result = await node.find_successor(key)
            assert result.owner.id == oracle.successor(key), (node, key)


async def grow(cluster: MemoryCluster, n: int) -> None:
    """n joins in random order through random seeds, invariant checked after each."""
    for _ in range(n):
        await cluster.join()
        assert check_invariant(cluster.tables()) == []


@pytest.mark.parametrize(("n", "seed"), [(2, 1), (3, 2), (5, 3), (16, 4), (64, 5)])
async def test_joins_converge_to_the_oracle(n: int, seed: int) -> None:
    cluster = MemoryCluster(bits=16, seed=seed, settings=RingSettings(successor_list_size=4))
    await grow(cluster, n)
    await cluster.converge()
    await cluster.refresh_fingers()
    assert wrong_fingers(cluster.tables()) == 0
    await assert_lookups_match_oracle(cluster)


async def test_id_zero_is_an_ordinary_node() -> None:
    cluster = MemoryCluster(bits=8, seed=7)
    await cluster.join(ident=0)
    await cluster.join(ident=255)
    await cluster.join(ident=128)
    await cluster.converge()
    oracle = cluster.oracle()
    for node in cluster.nodes.values():
        for key in (0, 1, 127, 128, 129, 255):
            assert (await node.find_successor(key)).owner.id == oracle.successor(key)


@pytest.mark.parametrize("crashes", [1, 2, 3])
async def test_crash_of_up_to_r_minus_1_adjacent_nodes(crashes: int) -> None:
    r = 4
    cluster = MemoryCluster(
        bits=16, seed=10 + crashes, settings=RingSettings(successor_list_size=r)
    )
    await grow(cluster, 24)
    await cluster.converge()
    # the worst case: a run of consecutive nodes fails at once
    ids = sorted(cluster.nodes)
    for ident in ids[5 : 5 + crashes]:
        cluster.crash(cluster.nodes[ident])
    assert check_invariant(cluster.tables()) == []
    rounds = await cluster.converge(max_rounds=20)
    assert rounds <= 5
    await assert_lookups_match_oracle(cluster)


async def test_lookups_route_around_dead_nodes_before_repair() -> None:
    cluster = MemoryCluster(bits=32, seed=21)
    await grow(cluster, 48)
    await cluster.converge()
    await cluster.refresh_fingers()
    dead = [cluster.random_node() for _ in range(6)]
    dead_ids = {n.me.id for n in dead}
    for node in dead:
        if node.me.id in cluster.nodes:
            cluster.crash(node)
    oracle = cluster.oracle()  # live nodes only
    timeouts = 0
    for node in cluster.nodes.values():
        key = cluster.rng.randrange(cluster.space.size)
        result = await node.find_successor(key)
        timeouts += result.timeouts
        # Without repair the answer may still name a dead owner, but never a wrong live one.
        assert result.owner.id == oracle.successor(key) or result.owner.id in dead_ids
    assert timeouts > 0


async def test_graceful_leaves_keep_the_ring_converged() -> None:
    cluster = MemoryCluster(bits=16, seed=30, settings=RingSettings(successor_list_size=4))
    await grow(cluster, 20)
    await cluster.converge()
    for _ in range(8):
        await cluster.leave(cluster.random_node())
        assert check_invariant(cluster.tables()) == []
    # leave notices splice neighbours at once: only list tails need a round or two
    assert await cluster.converge(max_rounds=10) <= 4
    await assert_lookups_match_oracle(cluster)


async def test_last_two_nodes_leaving() -> None:
    cluster = MemoryCluster(bits=16, seed=31)
    await grow(cluster, 3)
    await cluster.converge()
    await cluster.leave(cluster.random_node())
    await cluster.converge()
    await cluster.leave(cluster.random_node())
    (last,) = cluster.nodes.values()
    assert last.table.alone
    assert last.table.predecessor is None
    assert (await last.find_successor(12345)).owner.id == last.me.id


@pytest.mark.parametrize("seed", range(6))
async def test_random_churn_sequences(seed: int) -> None:
    r = 4
    cluster = MemoryCluster(bits=20, seed=100 + seed, settings=RingSettings(successor_list_size=r))
    await grow(cluster, 12)
    await cluster.converge()
    rng = cluster.rng
    for _ in range(40):
        action = rng.random()
        if action < 0.45 or len(cluster.nodes) < r + 2:
            await cluster.join()
        elif action < 0.7:
            cluster.crash(cluster.random_node())
        else:
            await cluster.leave(cluster.random_node())
        assert check_invariant(cluster.tables()) == []
        await cluster.round()
        assert check_invariant(cluster.tables()) == []
    await cluster.converge(max_rounds=30)
    await cluster.refresh_fingers()
    await assert_lookups_match_oracle(cluster)


@pytest.mark.parametrize("seed", range(4))
async def test_split_rings_merge_through_one_seed(seed: int) -> None:
    """Two rings of 6; one node of the first lists a node of the second as a seed, every other
    node only knows a member of its own ring. As the service's maintenance does, every node
    checks its place through its seeds every few rounds: the rings become one."""
    cluster = MemoryCluster(bits=16, seed=40 + seed)
    rng = cluster.rng
    first = [await cluster.join()]
    seeds = {first[0].me.id: []}
    for _ in range(5):
        via = rng.choice(first)
        first.append(await cluster.join(seed=via))
        seeds[first[-1].me.id] = [via]
    second = [cluster.spawn()]
    seeds[second[0].me.id] = []
    for _ in range(5):
        via = rng.choice(second)
        second.append(await cluster.join(seed=via))
        seeds[second[-1].me.id] = [via]
    for _ in range(10):
        await cluster.round()
    assert any("rings" in p for p in check_invariant(cluster.tables()))
    seeds[first[0].me.id].append(second[0])
    used = 0
    for used in range(1, 61):
        await cluster.round()
        if used % 3 == 0:
            for ident, via in seeds.items():
                for other in via:
                    await cluster.nodes[ident].merge_through(other.me)
        if not check_converged(cluster.tables()):
            break
    print(f"\ntwo rings of 6 merged through one seed in {used} rounds")
    assert check_converged(cluster.tables()) == []
    await cluster.refresh_fingers()
    await assert_lookups_match_oracle(cluster)


async def test_join_with_a_taken_id_fails() -> None:
    cluster = MemoryCluster(bits=16, seed=50)
    a = await cluster.join(ident=1000)
    await cluster.join(ident=2000)
    await cluster.converge()
    # a second node claiming a's id from another address must be refused
    clone = ChordNode(
        cluster.space,
        PeerRef(a.me.id, "elsewhere"),
        cluster.network.client("elsewhere"),
        cluster.clock,
        identity=cluster.identity,
    )
    with pytest.raises(JoinFailed, match="already taken"):
        await clone.join(a.me)


async def test_mean_path_length_at_1024_nodes() -> None:
    """Done-when of the ring issue: mean path <= ½·log2 N + 0.5 at N = 1,024 (printed)."""
    n = 1024
    cluster = MemoryCluster(bits=160, seed=60, yield_on_call=False)
    cluster.place(cluster.fresh_id() for _ in range(n))
    assert check_converged(cluster.tables()) == []
    oracle = cluster.oracle()
    hops = []
    for _ in range(1000):
        key = cluster.rng.randrange(cluster.space.size)
        result = await cluster.random_node().find_successor(key)
        assert result.owner.id == oracle.successor(key)
        hops.append(result.hops)
    mean = statistics.mean(hops)
    bound = 0.5 * math.log2(n) + 0.5
    print(f"\nN={n}: mean lookup path {mean:.2f} hops (bound {bound:.2f}), max {max(hops)}")
    assert mean <= bound
    assert max(hops) <= 2 * math.log2(n)
