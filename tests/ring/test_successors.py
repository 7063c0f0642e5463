"""Successor-list updates keep Zave's invariants: ordered, no self, no duplicates, at most r."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chordshare.ring import IdSpace, PeerRef, SuccessorList
from chordshare.ring.oracle import RingOracle

SPACE = IdSpace(8)


def peer(i: int) -> PeerRef:
    return PeerRef(i, f"n{i}")


rings = st.sets(st.integers(min_value=0, max_value=255), min_size=2, max_size=40)


@given(rings, st.integers(min_value=1, max_value=8), st.data())
def test_adopt_from_true_successor_gives_true_list(
    ids: set[int], r: int, data: st.DataObject
) -> None:
    oracle = RingOracle(SPACE, ids)
    me = data.draw(st.sampled_from(sorted(ids)))
    succ = oracle.successor((me + 1) % SPACE.size)
    lst = SuccessorList(SPACE, me, r)
    lst.adopt(peer(succ), [peer(i) for i in oracle.successors(succ, r)])
    assert [p.id for p in lst] == oracle.successors(me, r)


@given(st.integers(0, 255), st.lists(st.integers(0, 255), max_size=30), st.integers(1, 10))
def test_normalize_invariants(me: int, cands: list[int], r: int) -> None:
    lst = SuccessorList(SPACE, me, r)
    lst.replace(peer(i) for i in cands)
    got = [p.id for p in lst]
    assert me not in got
    assert len(got) == len(set(got)) <= r
    dists = [SPACE.distance(me, i) for i in got]
    assert dists == sorted(dists)
    # the list keeps the closest candidates
    assert set(got) == set(sorted({c for c in cands if c != me}, key=lambda c: (c - me) % 256)[:r])


@given(rings, st.data())
def test_adopt_stops_where_the_list_wraps_past_us(ids: set[int], data: st.DataObject) -> None:
    oracle = RingOracle(SPACE, ids)
    me = data.draw(st.sampled_from(sorted(ids)))
    succ = oracle.successor((me + 1) % 256)
    # a successor list longer than the ring: it wraps around past us
    order = sorted(ids)
    at = order.index(succ)
    wrapped = [peer(order[(at + 1 + k) % len(order)]) for k in range(50)]
    lst = SuccessorList(SPACE, me, 64)
    lst.adopt(peer(succ), wrapped)
    assert [p.id for p in lst] == oracle.successors(me, 64)


def test_remove() -> None:
    lst = SuccessorList(SPACE, 10, 4)
    lst.replace([peer(20), peer(30), peer(0)])
    assert lst.remove(30)
    assert not lst.remove(30)
    assert [p.id for p in lst] == [20, 0]


@given(rings, st.integers(min_value=1, max_value=8), st.data())
def test_the_size_estimate_of_a_true_list(ids: set[int], r: int, data: st.DataObject) -> None:
    """Exact when the list holds the whole rest of the ring; otherwise at least the nodes it
    names plus its owner, and, when the nodes spread evenly over the ring, the true size up to
    the rounding of their spacing."""
    oracle = RingOracle(SPACE, ids)
    me = data.draw(st.sampled_from(sorted(ids)))
    lst = SuccessorList(SPACE, me, r)
    lst.replace(peer(i) for i in oracle.successors(me, r))
    estimate = lst.ring_size_estimate()
    if len(ids) <= r:
        assert estimate == len(ids)
    else:
        assert estimate >= r + 1
        gap = SPACE.size // len(ids)
        spread = {(me + gap * k) % SPACE.size for k in range(len(ids))}
        even = SuccessorList(SPACE, me, r)
        even.replace(peer(i) for i in RingOracle(SPACE, spread).successors(me, r))
        assert abs(even.ring_size_estimate() - len(ids)) <= len(ids) / gap + 1
