"""Attacks on the ring over the in-memory network (manual clock): made-up ids, peers that do not
answer for themselves, lying lookup steps and forged successor lists change nothing."""

from __future__ import annotations

import pytest

from chordshare.errors import InvalidInput
from chordshare.node.ring.chord import ChordNode
from chordshare.node.ring.settings import RingSettings
from chordshare.ring import PeerRef
from chordshare.sim.adversary import Liar
from chordshare.sim.cluster import MemoryCluster


async def ring(n: int, seed: int) -> MemoryCluster:
    cluster = MemoryCluster(bits=16, seed=seed, settings=RingSettings(successor_list_size=4))
    cluster.place(cluster.random_ids(n))
    cluster.verify()
    return cluster


def sorted_nodes(cluster: MemoryCluster) -> list[ChordNode]:
    return [cluster.nodes[i] for i in sorted(cluster.nodes)]


async def test_a_made_up_id_in_a_rectify_is_refused() -> None:
    cluster = await ring(8, 1)
    a, b = sorted_nodes(cluster)[:2]
    fake = PeerRef(b.me.id - 1, "mem-somewhere-else")
    with pytest.raises(InvalidInput, match="does not derive"):
        await b.rectify(fake)
    assert b.table.predecessor == a.me
    await cluster.round()
    cluster.verify()


async def test_a_rectify_naming_a_silent_address_is_not_adopted() -> None:
    cluster = await ring(8, 2)
    a, b = sorted_nodes(cluster)[:2]
    ghost = PeerRef(b.me.id - 1, cluster.identity.address(b.me.id - 1))
    assert ghost.id != a.me.id
    await b.rectify(ghost)  # a correct id, but nothing answers there
    assert b.table.predecessor == a.me
    # something answers there, but with another id
    cluster.network.register(PeerRef(a.me.id, ghost.grpc_address), ring=a)
    await b.rectify(ghost)
    assert b.table.predecessor == a.me


@pytest.mark.parametrize("mode", ["self", "outside", "loop"])
async def test_a_lying_step_never_yields_a_wrong_owner(mode: str) -> None:
    cluster = await ring(32, 3)
    nodes = sorted_nodes(cluster)
    liar = nodes[5]
    cluster.network.register(liar.me, ring=Liar(liar, mode))
    oracle = cluster.oracle()
    keys = [cluster.rng.randrange(cluster.space.size) for _ in range(40)]
    wrong = 0
    for origin in nodes:
        if origin is liar:
            continue
        for key in keys:
            result = await origin.find_successor(key)
            wrong += result.owner.id != oracle.successor(key)
    assert wrong == 0


async def test_a_plain_lookup_believes_a_self_naming_liar() -> None:
    """Without the checks (the paper's lookup), the same liar is believed: the test above
    exercises something."""
    cluster = MemoryCluster(bits=16, seed=3, settings=RingSettings(lookup_failover=False))
    cluster.place(cluster.random_ids(32))
    nodes = sorted_nodes(cluster)
    liar = nodes[5]
    cluster.network.register(liar.me, ring=Liar(liar, "self"))
    oracle = cluster.oracle()
    wrong = 0
    for origin in nodes:
        for key in range(0, cluster.space.size, 997):
            if origin is not liar:
                result = await origin.find_successor(key)
                wrong += result.owner.id != oracle.successor(key)
    assert wrong > 0


async def test_forged_successor_list_entries_are_not_adopted() -> None:
    cluster = await ring(8, 4)
    nodes = sorted_nodes(cluster)
    a, b = nodes[0], nodes[1]
    silent = PeerRef(b.me.id + 1, cluster.identity.address(b.me.id + 1))
    made_up = PeerRef(b.me.id + 2, "mem-elsewhere")
    cluster.network.register(b.me, ring=Liar(b, "self", (silent, made_up)))
    await a.stabilize()
    known = {p.id for p in a.table.successors.peers()}
    assert silent.id not in known
    assert made_up.id not in known
    assert a.table.successor == b.me
