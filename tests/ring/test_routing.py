"""Routing decisions on converged tables against the oracle: every step makes progress and
ends at the true owner."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chordshare.ring import IdSpace, PeerRef, RoutingTable
from chordshare.ring.oracle import RingOracle

SPACE = IdSpace(10)


def converged_tables(ids: set[int], r: int) -> dict[int, RoutingTable]:
    oracle = RingOracle(SPACE, ids)
    peers = {i: PeerRef(i, f"n{i}") for i in ids}
    tables = {}
    for i in ids:
        t = RoutingTable(SPACE, peers[i], r)
        t.successors.replace(peers[s] for s in oracle.successors(i, r))
        if len(ids) > 1:
            t.predecessor = peers[oracle.predecessor(i)]
        for f in range(SPACE.bits):
            owner = oracle.finger(i, f)
            t.fingers.set(f, None if owner == i else peers[owner])
        tables[i] = t
    return tables


rings = st.sets(st.integers(min_value=0, max_value=SPACE.size - 1), min_size=1, max_size=60)


@settings(max_examples=150)
@given(rings, st.integers(1, 6), st.booleans(), st.data())
def test_route_reaches_owner_with_progress(
    ids: set[int], r: int, use_list: bool, data: st.DataObject
) -> None:
    tables = converged_tables(ids, r)
    oracle = RingOracle(SPACE, ids)
    start = data.draw(st.sampled_from(sorted(ids)))
    key = data.draw(st.integers(0, SPACE.size - 1))
    current = start
    for _ in range(2 * SPACE.bits):
        step = tables[current].next_hop(key, use_successor_list=use_list)
        if step.done:
            assert step.peers[0].id == oracle.successor(key)
            return
        nxt = step.peers[0].id
        # strictly closer to the key, clockwise
        assert SPACE.distance(nxt, key) < SPACE.distance(current, key)
        current = nxt
    raise AssertionError("routing did not terminate")


@given(rings, st.data())
def test_closest_preceding_skips_excluded(ids: set[int], data: st.DataObject) -> None:
    tables = converged_tables(ids, 4)
    me = data.draw(st.sampled_from(sorted(ids)))
    key = data.draw(st.integers(0, SPACE.size - 1))
    table = tables[me]
    full = table.closest_preceding_nodes(key, limit=100)
    if not full:
        return
    excluded = {full[0].id}
    rest = table.closest_preceding_nodes(key, excluded, limit=100)
    assert full[0] not in rest
    assert [p.id for p in rest] == [p.id for p in full[1:]]
    for p in full:  # every candidate precedes the key
        assert 0 < SPACE.distance(me, p.id) < (SPACE.distance(me, key) or SPACE.size)


def test_single_node_owns_everything() -> None:
    t = RoutingTable(SPACE, PeerRef(0, "n0"))
    for key in (0, 1, SPACE.size - 1):
        step = t.next_hop(key)
        assert step.done
        assert step.peers[0].id == 0
    assert t.owns(5)


def test_should_rectify() -> None:
    t = RoutingTable(SPACE, PeerRef(100, "n100"))
    assert t.should_rectify(PeerRef(50, "a"), predecessor_alive=True)
    t.predecessor = PeerRef(50, "a")
    assert t.should_rectify(PeerRef(80, "b"), predecessor_alive=True)
    assert not t.should_rectify(PeerRef(20, "c"), predecessor_alive=True)
    assert t.should_rectify(PeerRef(20, "c"), predecessor_alive=False)
    assert not t.should_rectify(PeerRef(100, "me"), predecessor_alive=False)
