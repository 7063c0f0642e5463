"""The simulator's speed-ups of ``ring.table`` and ``ring.fingers`` change no routing decision.

The reference functions below are the straightforward versions those modules had before the
cached, bisecting ones (as of commit 6712a2d); every decision is compared on many random tables,
including exclusions, a key equal to the node's own id or to a peer's, lone nodes, stale
entries, and a finger and a successor that name the same id with different addresses.
"""

from __future__ import annotations

import random
from collections.abc import Collection

import pytest

from chordshare.ring import FingerTable, IdSpace, NextHop, PeerRef, RoutingTable
from chordshare.ring.interval import in_half_open, in_open


def reference_closest(
    table: RoutingTable, key: int, exclude: Collection[int], limit: int
) -> list[PeerRef]:
    size = table.space.size
    pool: dict[int, PeerRef] = {}
    for peer in (*table.fingers.peers(), *table.successors.peers()):
        if peer.id not in exclude and in_open(peer.id, table.me.id, key, size):
            pool.setdefault(peer.id, peer)
    ranked = sorted(pool.values(), key=lambda p: table.space.distance(p.id, key))
    return ranked[:limit]


def reference_next_hop(
    table: RoutingTable,
    key: int,
    exclude: Collection[int],
    use_successor_list: bool,
    candidates: int,
) -> NextHop:
    size = table.space.size
    live = [p for p in table.successors.peers() if p.id not in exclude]
    if key == table.me.id:
        return NextHop(done=True, peers=(table.me, *live))
    if not live:
        return NextHop(done=True, peers=(table.me,))
    prev = table.me.id
    reach = live if use_successor_list else live[:1]
    for i, peer in enumerate(reach):
        if in_half_open(key, prev, peer.id, size):
            return NextHop(done=True, peers=tuple(live[i:]))
        prev = peer.id
    preceding = reference_closest(table, key, exclude, candidates)
    if not preceding:
        return NextHop(done=True, peers=tuple(live))
    return NextHop(done=False, peers=tuple(preceding))


def reference_fill_from(fingers: FingerTable, index: int, peer: PeerRef) -> int:
    entries = fingers.entries()
    entries[index] = peer
    reach = fingers.space.distance(fingers.owner, peer.id) or fingers.space.size
    nxt = index + 1
    while nxt < fingers.space.bits and (1 << nxt) <= reach:
        entries[nxt] = peer
        nxt += 1
    return nxt


def peer(ident: int, tag: str = "") -> PeerRef:
    return PeerRef(ident, f"mem-{ident}{tag}")


def distinct_ids(rng: random.Random, space: IdSpace, count: int) -> list[int]:
    out: dict[int, None] = {}
    while len(out) < min(count, space.size):
        out.setdefault(rng.randrange(space.size))
    return list(out)


def random_table(rng: random.Random, space: IdSpace) -> tuple[RoutingTable, list[int]]:
    ids = distinct_ids(rng, space, rng.randint(1, 40))
    me = peer(ids[0])
    table = RoutingTable(space, me, successor_list_size=rng.randint(1, 8))
    others = ids[1:]
    table.successors.replace(peer(i) for i in rng.sample(others, min(len(others), 10)))
    for index in range(space.bits):
        if others and rng.random() < 0.4:
            # Fingers may be stale (any known id); now and then under another address.
            table.fingers.set(index, peer(rng.choice(others), rng.choice(["", "-old"])))
    return table, ids


@pytest.mark.parametrize("bits", [3, 8, 160])
def test_next_hop_and_closest_match_the_reference(bits: int) -> None:
    rng = random.Random(bits)
    space = IdSpace(bits)
    for _ in range(300):
        table, ids = random_table(rng, space)
        keys = [rng.randrange(space.size) for _ in range(5)] + ids[:4] + [table.me.id]
        for key in keys:
            exclude = set(rng.sample(ids, rng.randint(0, min(3, len(ids)))))
            for excluded in (frozenset(), frozenset(exclude)):
                for use_list in (True, False):
                    candidates = rng.randint(1, 4)
                    got = table.next_hop(
                        key, excluded, use_successor_list=use_list, candidates=candidates
                    )
                    assert got == reference_next_hop(table, key, excluded, use_list, candidates)
                for limit in (-2, 0, 1, 3, 50):
                    got_list = table.closest_preceding_nodes(key, excluded, limit=limit)
                    assert got_list == reference_closest(table, key, excluded, limit)
                    # Same objects, not only equal values: a finger's ref wins over a successor's.
                    assert [id(p) for p in got_list] == [
                        id(p) for p in reference_closest(table, key, excluded, limit)
                    ]
        # The cached view follows every kind of update.
        if len(ids) > 1:
            gone = rng.choice(ids[1:])
            table.forget(gone)
            key = rng.randrange(space.size)
            assert table.next_hop(key) == reference_next_hop(table, key, (), True, 3)
            table.fingers.fill_from(0, peer(rng.choice(ids[1:])))
            assert table.next_hop(key) == reference_next_hop(table, key, (), True, 3)


@pytest.mark.parametrize("bits", [4, 32, 160])
def test_fill_from_matches_the_reference(bits: int) -> None:
    rng = random.Random(bits)
    space = IdSpace(bits)
    for _ in range(500):
        owner, other = distinct_ids(rng, space, 2)
        fingers = FingerTable(space, owner)
        index = rng.randrange(bits)
        target = peer(other)
        want_next = reference_fill_from(fingers, index, target)
        want_entries = fingers.entries()
        want_entries[index:want_next] = [target] * (want_next - index)
        assert fingers.fill_from(index, target) == want_next
        assert fingers.entries() == want_entries
        assert list(fingers.peers()) == [target]
        fingers.remove(other)
        assert list(fingers.peers()) == []
        assert fingers.entries() == [None] * bits
