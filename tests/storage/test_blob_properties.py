"""A random run of stores, reads, removals, sweeps and restarts against a model of what the blob
store must hold: a dict of contents with their names, kind and last use, the quota rules (pinned
bytes refused past the quota, cached bytes evicting the least recently used cached files) and
what a restart remembers (the last uses written to the metas)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from chordshare.errors import LimitExceeded
from chordshare.storage.files.blobs import BlobStore, Kind

from .helpers import PIECE, data_of, manifest_for, store_file

CONTENTS = [data_of(PIECE, seed=1), data_of(2 * PIECE, seed=2), data_of(PIECE // 2, seed=3), b""]
HASHES = [manifest_for("x", c).content_hash for c in CONTENTS]
NAMES = ["a", "b", "c"]
QUOTAS = st.sampled_from([None, PIECE, 2 * PIECE, 3 * PIECE])


@dataclass
class Held:
    names: dict[str, int]
    kind: Kind
    used: float
    recorded: float


@dataclass
class Model:
    pinned_quota: int | None
    cache_quota: int | None
    held: dict[int, Held] = field(default_factory=dict)
    order: int = 0

    def bytes_of(self, kind: Kind) -> int:
        return sum(len(CONTENTS[c]) for c, h in self.held.items() if h.kind == kind)

    def store(self, name: str, c: int, kind: Kind, now: float) -> bool:
        """Whether the store accepts it (and then what it holds after)."""
        size, held = len(CONTENTS[c]), self.held.get(c)
        if kind == "pinned":
            needed = 0 if held is not None and held.kind == "pinned" else size
            quota = self.pinned_quota
            if quota is not None and needed and self.bytes_of("pinned") + needed > quota:
                return False
        elif held is None and self.cache_quota is not None and size > self.cache_quota:
            return False
        names = {} if held is None else dict(held.names)
        names[name] = self.order
        self.order += 1
        merged: Kind = "pinned" if kind == "pinned" or (held and held.kind == "pinned") else kind
        self.held[c] = Held(names, merged, now, now)
        if held is None:
            self.evict(spare=c)
        return True

    def evict(self, spare: int | None = None) -> None:
        if self.cache_quota is None:
            return
        candidates = sorted(
            (h.used, HASHES[c].hex(), c)
            for c, h in self.held.items()
            if h.kind == "cached" and c != spare
        )
        for _, _, c in candidates:
            if self.bytes_of("cached") <= self.cache_quota:
                break
            del self.held[c]

    def remove_name(self, name: str, c: int) -> bool:
        held = self.held.get(c)
        if held is None or name not in held.names:
            return False
        del held.names[name]
        if not held.names:
            del self.held[c]
        else:
            held.recorded = held.used
        return True

    def restart(self) -> None:
        for held in self.held.values():
            held.used = held.recorded
        self.evict()


def check(blobs: BlobStore, model: Model) -> None:
    got = {s.content_hash: s for s in blobs.files()}
    assert set(got) == {HASHES[c] for c in model.held}
    for c, held in model.held.items():
        stored = got[HASHES[c]]
        assert set(stored.names) == set(held.names)  # their order: by_name, below
        assert stored.kind == held.kind
        assert blobs.last_used(HASHES[c]) == held.used
    for name in NAMES:
        latest_first = sorted(
            (c for c, h in model.held.items() if name in h.names),
            key=lambda c: model.held[c].names[name],
            reverse=True,
        )
        assert [s.content_hash for s in blobs.by_name(name)] == [HASHES[c] for c in latest_first]
    usage = blobs.usage()
    assert usage.pinned_bytes == model.bytes_of("pinned")
    assert usage.cached_bytes == model.bytes_of("cached")
    assert usage.reserved_bytes == 0
    if model.cache_quota is not None:
        assert usage.cached_bytes <= model.cache_quota
    assert sorted(p.name for p in blobs.files_dir.iterdir()) == sorted(h.hex() for h in got)


OPS = st.one_of(
    st.tuples(
        st.just("store"),
        st.sampled_from(NAMES),
        st.integers(0, len(CONTENTS) - 1),
        st.sampled_from(["pinned", "cached"]),
    ),
    st.tuples(st.just("read"), st.integers(0, len(CONTENTS) - 1)),
    st.tuples(st.just("remove"), st.integers(0, len(CONTENTS) - 1)),
    st.tuples(st.just("remove_name"), st.sampled_from(NAMES), st.integers(0, len(CONTENTS) - 1)),
    st.tuples(st.just("sweep")),
    st.tuples(st.just("restart")),
)


@settings(max_examples=100)
@given(QUOTAS, QUOTAS, st.lists(st.tuples(OPS, st.integers(0, 2)), max_size=25))
def test_the_store_matches_its_model(
    pinned_quota: int | None,
    cache_quota: int | None,
    ops: list[tuple[tuple[object, ...], int]],
) -> None:
    now = [1_700_000_000.0]
    model = Model(pinned_quota, cache_quota)
    with tempfile.TemporaryDirectory() as tmp:

        def open_store() -> BlobStore:
            quotas = {"pinned_quota": pinned_quota, "cache_quota": cache_quota}
            return BlobStore(Path(tmp), wall_clock=lambda: now[0], **quotas)

        blobs = open_store()
        for op, tick in ops:
            now[0] += tick
            match op:
                case ("store", str(name), int(c), kind):
                    assert kind in ("pinned", "cached")
                    expected = model.store(name, c, kind, now[0])
                    try:
                        store_file(blobs, name, CONTENTS[c], kind)
                        accepted = True
                    except LimitExceeded:
                        accepted = False
                    assert accepted == expected
                case ("read", int(c)):
                    reader = blobs.reader(HASHES[c])
                    assert (reader is not None) == (c in model.held)
                    if reader is not None:
                        with reader:
                            if CONTENTS[c]:
                                assert reader.read(0, 0, 5) == CONTENTS[c][:5]
                        model.held[c].used = now[0]
                case ("remove", int(c)):
                    assert (blobs.remove(HASHES[c]) is not None) == (c in model.held)
                    model.held.pop(c, None)
                case ("remove_name", str(name), int(c)):
                    assert blobs.remove_name(name, HASHES[c]) == model.remove_name(name, c)
                case ("sweep",):
                    blobs.sweep_stale()
                    for held in model.held.values():
                        held.recorded = held.used
                case ("restart",):
                    blobs = open_store()
                    model.restart()
            check(blobs, model)
