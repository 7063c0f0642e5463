"""The owner cache (chordshare.node.ring.shortcut) on the in-memory network, judged by the
brute-force oracle: a repeated key costs one round trip, a stale arc (a join in it, a crash of
its owner) never yields a wrong owner, and arcs planted by a lying peer are not believed."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from chordshare.node.ring.chord import ChordNode
from chordshare.node.ring.settings import RingSettings
from chordshare.ring import PeerRef
from chordshare.sim.adversary import Honest
from chordshare.sim.cluster import MemoryCluster
from chordshare.transport.ports.ring import NodeInfo

SETTINGS = RingSettings(successor_list_size=4, owner_cache=True)


def ring(n: int, seed: int) -> MemoryCluster:
    cluster = MemoryCluster(bits=16, seed=seed, settings=SETTINGS)
    cluster.place(cluster.random_ids(n))
    cluster.verify()
    return cluster


def in_order(cluster: MemoryCluster) -> list[ChordNode]:
    return [cluster.nodes[i] for i in sorted(cluster.nodes)]


def info_calls(cluster: MemoryCluster) -> int:
    return cluster.network.calls["get_node_info"]


async def test_a_repeated_key_costs_one_round_trip() -> None:
    cluster = ring(16, 1)
    nodes = in_order(cluster)
    origin, pred, owner = nodes[0], nodes[8], nodes[9]
    key = pred.me.id + 1
    first = await origin.find_successor(key)
    assert first.owner == owner.me
    assert first.hops > 0
    before = info_calls(cluster)
    second = await origin.find_successor(key)  # an arc heard of: both its ends asked at once
    assert second.owner == owner.me
    assert second.hops == 0
    assert info_calls(cluster) - before == 2
    before = info_calls(cluster)
    nearby = await origin.find_successor(owner.me.id)  # vouched for since: the owner alone
    assert nearby.owner == owner.me
    assert nearby.hops == 0
    assert info_calls(cluster) - before == 1
    assert [p.id for p in nearby.successors] == [n.me.id for n in nodes[10:14]]
    assert origin.owners.hits == 2
    assert origin.owners.misses == 0
    # the arcs of the owner's successor list came with it
    after = await origin.find_successor(nodes[11].me.id)
    assert after.owner == nodes[11].me
    assert after.hops == 0


@pytest.mark.parametrize("asked", [1, 2, 3], ids=["routed", "heard-of", "vouched"])
@pytest.mark.parametrize("origin_is_pred", [False, True])
async def test_a_join_in_a_cached_arc_is_never_missed(asked: int, origin_is_pred: bool) -> None:
    cluster = ring(16, 2)
    nodes = in_order(cluster)
    pred, owner = nodes[4], nodes[5]
    origin = pred if origin_is_pred else nodes[12]
    early, late = pred.me.id + 1, owner.me.id
    for _ in range(asked):
        assert (await origin.find_successor(early)).owner == owner.me
    newcomer = await cluster.join((pred.me.id + owner.me.id) // 2, seed=nodes[0])
    oracle = cluster.oracle()
    assert oracle.successor(early) == newcomer.me.id
    assert (await origin.find_successor(early)).owner == newcomer.me
    assert (await origin.find_successor(late)).owner == owner.me
    for key in (early, late, owner.me.id - 1):
        assert (await origin.find_successor(key)).owner.id == oracle.successor(key)


@pytest.mark.parametrize("asked", [2, 3], ids=["heard-of", "vouched"])
@pytest.mark.parametrize("victim", ["owner", "pred"])
async def test_a_crash_at_either_end_of_a_cached_arc_is_never_missed(
    asked: int, victim: str
) -> None:
    cluster = ring(16, 3)
    nodes = in_order(cluster)
    origin, pred, owner = nodes[0], nodes[8], nodes[9]
    key = pred.me.id + 1
    for _ in range(asked):
        assert (await origin.find_successor(key)).owner == owner.me
    cluster.crash(owner if victim == "owner" else pred)
    oracle = cluster.oracle()
    for _ in range(2):
        assert (await origin.find_successor(key)).owner.id == oracle.successor(key)
    await cluster.converge()
    assert (await origin.find_successor(key)).owner.id == oracle.successor(key)


@dataclass
class ListLiar(Honest):
    """A member that answers GetNodeInfo with a forged successor list (so that whoever learns
    from it keeps made-up arcs) and every other call truly."""

    successors: tuple[PeerRef, ...]

    async def get_node_info(self) -> NodeInfo:
        info = await self.node.get_node_info()
        return NodeInfo(info.peer, info.predecessor, self.successors)


@pytest.mark.parametrize("lie", ["skips", "reversed", "ghosts"])
async def test_arcs_planted_by_a_lying_owner_are_not_believed(lie: str) -> None:
    cluster = ring(24, 4)
    nodes = in_order(cluster)
    liar = nodes[6]
    after = [n.me for n in nodes[7:12]]
    forged = {
        "skips": (after[1], after[3], after[4]),  # hides nodes 7 and 9
        "reversed": tuple(reversed(after)),
        "ghosts": tuple(
            PeerRef(i, cluster.identity.address(i))  # ids that derive, where nothing answers
            for i in range(after[0].id - 3, after[0].id)
            if i not in cluster.nodes and i > liar.me.id
        ),
    }[lie]
    cluster.network.register(liar.me, ring=ListLiar(liar, forged))
    oracle = cluster.oracle()
    span = range(liar.me.id - 40, nodes[12].me.id + 40, 7)
    wrong = 0
    for origin in (nodes[0], nodes[15], nodes[20]):
        await origin.find_successor(liar.me.id)  # the liar is the owner: its list is learnt
        for _ in range(3):  # routed or from an arc heard of, then vouched for
            for key in span:
                found = await origin.find_successor(key % cluster.space.size)
                wrong += found.owner.id != oracle.successor(key % cluster.space.size)
    assert wrong == 0
    if lie != "reversed":
        assert sum(n.owners.misses for n in (nodes[0], nodes[15], nodes[20])) > 0
