"""The operations of a checker schedule, and the Hypothesis strategy that draws schedules.

A schedule is a ring size, a seed and a list of operations. Operations name nodes by small
integers taken modulo the candidates at the time they run (live members for a crash or a leave,
crashed ones for a restart), so every drawn list is runnable and shrinks well: Hypothesis
deletes operations and lowers numbers, and the schedule still means something. A fault the
rules of the run forbid at that moment (a crash that would leave more than k-1 nodes down, a
leave that would shrink the ring below k+1) is skipped and shown as skipped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from hypothesis import strategies as st

NAMES = ("f0.bin", "f1.bin", "f2.bin")
"""Few names, so that uploads of different contents under one name are common."""

SIZES = (1, 5_000, 16_384, 40_000, 70_000)
"""Bytes of an uploaded file: one byte, less than a piece, one piece exactly, several pieces."""


@dataclass(frozen=True)
class Upload:
    node: int
    name: int
    seed: int
    size: int

    @property
    def file(self) -> str:
        return NAMES[self.name % len(NAMES)]

    def content(self) -> bytes:
        return random.Random(self.seed).randbytes(self.size)


@dataclass(frozen=True)
class Read:
    node: int
    name: int
    variant: int

    @property
    def file(self) -> str:
        return NAMES[self.name % len(NAMES)]


@dataclass(frozen=True)
class Crash:
    node: int


@dataclass(frozen=True)
class Restart:
    node: int


@dataclass(frozen=True)
class Join:
    pass


@dataclass(frozen=True)
class Leave:
    node: int


@dataclass(frozen=True)
class Wait:
    ticks: int


Op = Upload | Read | Crash | Restart | Join | Leave | Wait
FAULTS = (Crash, Restart, Join, Leave)


@dataclass(frozen=True)
class Schedule:
    nodes: int
    seed: int
    ops: tuple[Op, ...]


_node = st.integers(0, 15)
_upload = st.builds(
    Upload, node=_node, name=st.integers(0, len(NAMES) - 1), seed=st.integers(0, 1 << 16),
    size=st.sampled_from(SIZES),
)  # fmt: skip
_read = st.builds(Read, node=_node, name=st.integers(0, len(NAMES) - 1), variant=st.integers(0, 3))
_fault = st.one_of(
    st.builds(Crash, node=_node),
    st.builds(Restart, node=_node),
    st.builds(Join),
    st.builds(Leave, node=_node),
)
_op: st.SearchStrategy[Op] = st.one_of(
    _upload, _upload, _read, _read, _read, st.builds(Wait, ticks=st.integers(1, 4)), _fault, _fault
)


def schedules(
    min_nodes: int = 5, max_nodes: int = 7, min_ops: int = 10, max_ops: int = 20
) -> st.SearchStrategy[Schedule]:
    return st.builds(
        Schedule,
        nodes=st.integers(min_nodes, max_nodes),
        seed=st.integers(0, 1 << 16),
        ops=st.lists(_op, min_size=min_ops, max_size=max_ops).map(tuple),
    )
