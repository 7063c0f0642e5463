"""Smoke test of ``bench/events_cost.py`` (its ``--small`` run), in the manner of
:mod:`tests.bench.test_bench_scripts`: the shape of its output and what it counted, no figure."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.test_bench_scripts import run_script

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e"), pytest.mark.timeout(150)]


def test_events_cost(tmp_path: Path) -> None:
    result = run_script("events_cost.py", tmp_path / "work", "--small")
    rows = result["rows"]
    assert [r["subscribers"] for r in rows] == ["none", "10 subscribers", "1 stalled", "none again"]
    for row in rows:
        assert row["gets"] == 30
        assert 0 < row["p50_ms"] <= row["p99_ms"]
        assert row["node_cpu_s"] > 0
    # each of the 10 followers saw every stream start and finish (10 streams, 2 events each)
    counts = result["events_per_subscriber"]
    assert len(counts) == 10
    assert min(counts) >= 20
