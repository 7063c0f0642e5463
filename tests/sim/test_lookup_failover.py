"""Two faults of ``node/lookup.py`` the failure and churn experiments found, now fixed: the owner
named by the last step is confirmed, and the origin is asked again when its candidates die."""

from __future__ import annotations

import random

from chordshare.node.ring.settings import RingSettings
from chordshare.sim.cluster import MemoryCluster

SETTINGS = RingSettings(successor_list_size=4)


def ring(count: int, seed: int) -> tuple[MemoryCluster, list[int]]:
    cluster = MemoryCluster(bits=16, settings=SETTINGS, seed=seed, yield_on_call=False)
    cluster.place(cluster.random_ids(count, random.Random(seed)))
    cluster.verify()
    return cluster, sorted(cluster.nodes)


async def test_lookup_never_names_a_crashed_owner() -> None:
    cluster, ids = ring(12, seed=1)
    origin = cluster.nodes[ids[0]]
    dead = cluster.nodes[ids[2]]  # second in the origin's successor list
    cluster.crash(dead)
    result = await origin.find_successor(dead.me.id)
    assert result.owner.id == ids[3]  # the key's live owner now


async def test_lookup_asks_the_origin_again_when_its_first_candidates_are_dead() -> None:
    cluster, ids = ring(64, seed=2)
    origin = cluster.nodes[ids[0]]
    key = (ids[0] + cluster.space.size // 2) % cluster.space.size
    step = origin.table.next_hop(key)
    assert not step.done
    assert len(step.peers) == 3
    for peer in step.peers:
        cluster.crash(cluster.nodes[peer.id])
    live = sorted(cluster.nodes)
    result = await origin.find_successor(key)
    assert result.owner.id == next((i for i in live if i >= key), live[0])
