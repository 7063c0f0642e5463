"""PNG figures of the experiments, drawn like the paper's (matplotlib, imported only here).

matplotlib is an optional dependency (the ``plot`` extra); without it :func:`plot` raises
:class:`PlotUnavailable` with the command that installs it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from chordshare.errors import PlotUnavailable
from chordshare.sim.report import Report


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise PlotUnavailable("--plot needs matplotlib: pip install 'chordshare[plot]'") from exc
    matplotlib.use("Agg")  # files only: no display on servers and CI
    import matplotlib.pyplot as plt

    return plt


def _column(report: Report, name: str) -> list[float]:
    return [float(row[name]) for row in report.rows]


def _hops(ax: Any, report: Report) -> None:
    nodes = _column(report, "nodes")
    mean, p1, p99 = (_column(report, c) for c in ("mean", "p1", "p99"))
    ax.errorbar(
        nodes,
        mean,
        yerr=[
            [m - lo for m, lo in zip(mean, p1, strict=True)],
            [hi - m for m, hi in zip(mean, p99, strict=True)],
        ],
        fmt="o-",
        capsize=3,
        label="mean (bars: 1st and 99th percentiles)",
    )
    ax.plot(nodes, [math.log2(n) / 2 for n in nodes], "k--", label="½·log2 N (target, paper)")
    ax.plot(nodes, [math.log2(n) for n in nodes], "k:", label="log2 N (99th pct target)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("number of nodes")
    ax.set_ylabel("path length (nodes visited)")


def _failures(ax: Any, report: Report) -> None:
    fraction = _column(report, "fraction")
    lookups = _column(report, "lookups")
    failed = [
        f / n if n else 0.0 for f, n in zip(_column(report, "failed_lookups"), lookups, strict=True)
    ]
    k = int(report.rows[0]["replicas"])
    ax.plot(fraction, failed, "o-", label="routing failures")
    ax.plot(fraction, _column(report, "lost_keys_unreplicated"), "s-", label="lost keys, one copy")
    ax.plot(fraction, _column(report, "lost_keys"), "^-", label=f"lost keys, k = {k}")
    ax.plot(fraction, [p**k for p in fraction], "k--", label=f"p^{k}")
    ax.set_xlabel("fraction of failed nodes")
    ax.set_ylabel("fraction")


def _churn(ax: Any, report: Report) -> None:
    ax.plot(
        _column(report, "rate"), _column(report, "failed_fraction"), "o-", label="failed lookups"
    )
    ax.axhline(0.005, color="k", linestyle="--", label="target 0.5%")
    ax.set_xlabel("node joins and crashes per second, each")
    ax.set_ylabel("fraction of lookups")


def _balance(ax: Any, report: Report) -> None:
    labels = [f"N={r['nodes']}\nkeys={r['keys']}\nv={r['virtual']}" for r in report.rows]
    positions = list(range(len(labels)))
    mean = _column(report, "mean")
    ax.errorbar(
        positions,
        mean,
        yerr=[
            [m - lo for m, lo in zip(mean, _column(report, "p1"), strict=True)],
            [hi - m for m, hi in zip(mean, _column(report, "p99"), strict=True)],
        ],
        fmt="o",
        capsize=4,
        label="mean (bars: 1st and 99th percentiles)",
    )
    ax.plot(positions, _column(report, "max"), "rx", label="max")
    ax.set_xticks(positions, labels)
    ax.set_ylabel("keys per node")


_DRAW = {"hops": _hops, "failures": _failures, "churn": _churn, "balance": _balance}


def plot(report: Report, out_dir: Path) -> Path:
    """Draw ``report`` into ``out_dir/<name>.png`` and return the path."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    try:
        _DRAW[report.name](ax, report)
        ax.set_title(report.title, fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{report.name}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path
