"""The ring size estimate: exact on evenly spaced rings and on rings no larger than the
successor list, close on random ones, and ``chordshare sim estimate`` printing its table."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from chordshare.cli.main import app
from chordshare.node.ring.settings import RingSettings
from chordshare.sim.cluster import MemoryCluster
from chordshare.sim.estimate import run_estimate


def test_an_evenly_spaced_ring_is_estimated_exactly() -> None:
    for nodes in (20, 64, 100):
        cluster = MemoryCluster(bits=32, settings=RingSettings(successor_list_size=8))
        step = cluster.space.size // nodes
        cluster.place(i * step for i in range(nodes))
        assert {n.estimated_ring_size() for n in cluster.nodes.values()} == {nodes}


def test_random_rings_small() -> None:
    report = run_estimate((8, 16, 64, 256), successors=16, rings=2, bits=32)
    rows = {int(r["nodes"]): r for r in report.rows}
    assert rows[8]["worst_error"] == rows[16]["worst_error"] == 0  # the list holds the ring
    assert all(t.met for t in report.targets)
    for nodes in (64, 256):
        row = rows[nodes]
        assert row["estimates"] == 2 * nodes
        assert 0 < float(row["mean_error"]) < 0.35  # the spread of 16 gaps: about 1/sqrt(15)
        assert -0.1 < float(row["bias"]) < 0.2  # r/(r-1) - 1 = 0.067 expected
        assert float(row["worst_error"]) >= float(row["p90_error"]) >= 0


def test_the_sim_estimate_command_prints_a_markdown_table(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["sim", "estimate", "--nodes", "8,32", "--rings", "1", "--out", str(tmp_path), "--quiet"],
    )
    assert result.exit_code == 0, result.output
    assert "| nodes | mean_error | worst_error |" in result.stdout
    assert "\n| 8 | 0 | 0 |" in result.stdout
    assert (tmp_path / "estimate.md").exists()
    bad = CliRunner().invoke(app, ["sim", "estimate", "--nodes", "eight"])
    assert bad.exit_code == 2
