"""Fixtures of the record-store tests: a hand-set wall clock and a store on disk in an 8-bit
ring (small enough to find names with a given key by brute force)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chordshare.ring import IdSpace
from chordshare.storage.records.store import RecordStore
from tests.records.factory import WallClock

SPACE = IdSpace(8)
T0 = 1_700_000_000.0


@pytest.fixture
def wall() -> WallClock:
    return WallClock(T0)


@pytest.fixture
async def store(tmp_path: Path, wall: WallClock) -> AsyncIterator[RecordStore]:
    s = await RecordStore.open(tmp_path, SPACE, wall_clock=wall)
    yield s
    await s.close()
