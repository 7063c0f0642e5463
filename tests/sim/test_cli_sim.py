"""``chordshare sim``: each command on a tiny ring, through the Typer app the main CLI mounts."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chordshare.cli.sim import sim_app

runner = CliRunner()

FIELDS = {
    "hops": ["nodes", "mean", "p1", "p99"],
    "failures": [
        "nodes",
        "fraction",
        "lookups",
        "failed_lookups",
        "lost_keys",
        "mean_hops",
        "mean_timeouts",
    ],
    "churn": ["nodes", "rate", "lookups", "failed_lookups", "mean_hops", "mean_timeouts"],
    "balance": ["nodes", "keys", "mean", "p1", "p99", "max"],
    "adversary": ["nodes", "liars", "lookup", "lookups", "wrong_owners", "failed_lookups"],
}
"""The row fields the issue fixes for outside scripts, in order."""

TINY = {
    "hops": ["--nodes", "8,16,...,64", "--lookups", "50"],
    "failures": ["--nodes", "64", "--fraction", "0.25,0.5", "--keys", "500", "--lookups", "50"],
    "churn": ["--nodes", "40", "--rate", "0.05", "--duration", "60", "--warmup", "10"],
    "balance": ["--nodes", "50", "--keys", "1000", "--virtual", "1,20"],
    "adversary": ["--nodes", "32", "--shares", "0.1", "--lookups", "50"],
}


@pytest.mark.parametrize("name", list(TINY))
def test_json_rows_and_files(name: str, tmp_path: Path) -> None:
    result = runner.invoke(
        sim_app, [name, *TINY[name], "--json", "--quiet", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows
    assert all(list(row)[: len(FIELDS[name])] == FIELDS[name] for row in rows)
    table = (tmp_path / f"{name}.md").read_text()
    assert "| " + " | ".join(FIELDS[name]) in table
    csv_lines = (tmp_path / f"{name}.csv").read_text().splitlines()
    assert csv_lines[0].startswith(",".join(FIELDS[name]))
    assert len(csv_lines) == len(rows) + 1


def test_table_is_printed_with_targets(tmp_path: Path) -> None:
    result = runner.invoke(sim_app, ["hops", *TINY["hops"], "--quiet", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "| nodes | mean | p1 | p99 |" in result.stdout
    assert "mean path ≤ ½·log2 N at every N" in result.stdout
    assert [r["nodes"] for r in _rows(tmp_path, "hops")] == ["8", "16", "32", "64"]


def test_paper_flag_turns_the_improvements_off(tmp_path: Path) -> None:
    args = ["failures", *TINY["failures"], "--json", "--quiet", "--out", str(tmp_path)]
    ours = json.loads(runner.invoke(sim_app, args).stdout)
    paper = json.loads(runner.invoke(sim_app, [*args, "--paper"]).stdout)
    assert {r["replicas"] for r in ours} == {3}
    assert {r["replicas"] for r in paper} == {1}
    assert [r["lost_keys_unreplicated"] for r in ours] == [r["lost_keys"] for r in paper]


def test_same_seed_same_rows_other_seed_other_rows(tmp_path: Path) -> None:
    args = ["hops", *TINY["hops"], "--json", "--quiet", "--out", str(tmp_path)]
    assert runner.invoke(sim_app, args).stdout == runner.invoke(sim_app, args).stdout
    assert (
        runner.invoke(sim_app, args).stdout != runner.invoke(sim_app, [*args, "--seed", "9"]).stdout
    )


def test_bad_list_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(sim_app, ["hops", "--nodes", "8,...", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "--nodes" in result.output


def test_plot_writes_a_png_or_says_how_to_get_matplotlib(tmp_path: Path) -> None:
    result = runner.invoke(sim_app, ["balance", *TINY["balance"], "--plot", "--out", str(tmp_path)])
    if importlib.util.find_spec("matplotlib") is not None:
        assert result.exit_code == 0, result.output
        assert (tmp_path / "balance.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert result.exit_code == 1
        assert "pip install 'chordshare[plot]'" in result.output


def _rows(out: Path, name: str) -> list[dict[str, str]]:
    import csv

    with (out / f"{name}.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_adversary_counts_wrong_owners_and_refuses_bad_shares(tmp_path: Path) -> None:
    args = ["adversary", "--nodes", "48", "--shares", "0.1", "--lookups", "80", "--json"]
    result = runner.invoke(sim_app, [*args, "--quiet", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    plain, checked = json.loads(result.stdout)
    assert (plain["lookup"], checked["lookup"]) == ("plain", "checked")
    assert plain["wrong_owners"] > 0  # the liars do fool the paper's lookup
    assert checked["wrong_owners"] == 0
    bad = runner.invoke(sim_app, ["adversary", "--shares", "1.5", "--out", str(tmp_path)])
    assert bad.exit_code == 2
    assert "every share must lie in (0, 1)" in bad.output
