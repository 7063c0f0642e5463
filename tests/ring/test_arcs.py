"""ArcMap against a brute-force list of arcs: the arcs kept stay disjoint, a new arc displaces
exactly those it overlaps, and a key is found in the one arc holding it, until it expires."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chordshare.ring import IdSpace, PeerRef, in_half_open
from chordshare.ring.arcs import Arc, ArcMap

SPACE = IdSpace(6)
SIZE = SPACE.size


def peer(i: int) -> PeerRef:
    return PeerRef(i, f"n{i}")


def keys_of(arc: Arc) -> set[int]:
    return {k for k in range(SIZE) if in_half_open(k, arc.pred.id, arc.owner.id, SIZE)}


ids = st.integers(min_value=0, max_value=SIZE - 1)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("put"), ids, ids, st.integers(1, 20)),
        st.tuples(st.just("forget"), ids, ids, st.just(0)),
    ),
    max_size=40,
)


class BruteArcs:
    """The same map as a plain list, every overlap found by listing the keys."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.arcs: list[Arc] = []  # oldest first

    def put(self, pred: int, owner: int, expires: float) -> None:
        if pred == owner:
            return
        new = Arc(peer(pred), peer(owner), expires)
        self.arcs = [a for a in self.arcs if not keys_of(a) & keys_of(new)]
        self.arcs.append(new)
        self.arcs = self.arcs[-self.capacity :]

    def forget(self, ident: int) -> None:
        self.arcs = [a for a in self.arcs if ident not in (a.pred.id, a.owner.id)]

    def find(self, key: int, now: float) -> Arc | None:
        held = [a for a in self.arcs if key in keys_of(a)]
        assert len(held) <= 1
        return held[0] if held and held[0].expires > now else None


@given(operations, st.integers(1, 6), st.integers(0, 20))
def test_matches_brute_force(ops: list[tuple[str, int, int, int]], capacity: int, now: int) -> None:
    fast, slow = ArcMap(SPACE, capacity), BruteArcs(capacity)
    for op, a, b, expires in ops:
        if op == "put":
            fast.put(peer(a), peer(b), expires)
            slow.put(a, b, expires)
        else:
            fast.forget(a)
            slow.forget(a)
        assert sorted((x.pred.id, x.owner.id) for x in fast.arcs()) == sorted(
            (x.pred.id, x.owner.id) for x in slow.arcs
        )
    covered: set[int] = set()
    for arc in fast.arcs():
        assert not covered & keys_of(arc), "arcs overlap"
        covered |= keys_of(arc)
    for key in range(SIZE):
        assert fast.find(key, now) == slow.find(key, now)


def test_an_expired_arc_is_dropped_and_a_lone_node_arc_never_kept() -> None:
    arcs = ArcMap(SPACE)
    arcs.put(peer(3), peer(3), 10)
    assert len(arcs) == 0
    arcs.put(peer(3), peer(9), 10)
    assert arcs.find(5, now=9) is not None
    assert arcs.find(5, now=10) is None
    assert len(arcs) == 0


def test_an_arc_heard_of_keeps_the_vouch_of_the_same_arc() -> None:
    arcs = ArcMap(SPACE)
    arcs.put(peer(3), peer(9), 10, vouched=4.0)
    arcs.put(peer(3), peer(9), 20)
    found = arcs.find(9, now=0)
    assert found is not None
    assert found.vouched == 4.0
    assert found.expires == 20
    arcs.put(peer(5), peer(9), 20)  # another predecessor: a new arc, not vouched for
    found = arcs.find(9, now=0)
    assert found is not None
    assert found.vouched is None
