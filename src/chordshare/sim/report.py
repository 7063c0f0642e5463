"""What an experiment hands back, and how it is written: a markdown table, a CSV, JSON rows.

Rows are flat dicts whose first keys are the fields the issue fixes for outside scripts (e.g.
hops: ``nodes, mean, p1, p99``); later keys are extra columns. Targets are printed under the
table, each with the measured figure beside the bound and whether it was met.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

Value = int | float | str
Row = dict[str, Value]


@dataclass(frozen=True, slots=True)
class Target:
    """One goal of the issue, judged on this run."""

    goal: str
    measured: str
    met: bool


@dataclass
class Report:
    """The outcome of one ``chordshare sim`` command."""

    name: str
    """File stem: ``hops``, ``failures``, ``churn`` or ``balance``."""
    title: str
    rows: list[Row]
    setup: str
    """One line on the protocol and parameters, printed above the table."""
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        out: list[str] = []
        for row in self.rows:
            out.extend(k for k in row if k not in out)
        return out


def _cell(value: Value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"
    return str(value)


def to_markdown(report: Report) -> str:
    cols = report.columns
    lines = [f"## {report.title}", "", report.setup, ""]
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "|".join("---:" for _ in cols) + "|")
    for row in report.rows:
        lines.append("| " + " | ".join(_cell(row.get(c, "")) for c in cols) + " |")
    if report.targets:
        lines += ["", "| target | measured | met |", "|---|---|---|"]
        for t in report.targets:
            lines.append(f"| {t.goal} | {t.measured} | {'yes' if t.met else '**no**'} |")
    if report.notes:
        lines.append("")
        lines.extend(f"- {note}" for note in report.notes)
    return "\n".join(lines) + "\n"


def to_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=report.columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(report.rows)
    return buffer.getvalue()


def to_json(report: Report) -> str:
    return json.dumps(report.rows, indent=2)


def write(report: Report, out_dir: Path) -> list[Path]:
    """Write ``<name>.md`` and ``<name>.csv`` into ``out_dir`` (created if needed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / f"{report.name}.md"
    md.write_text(to_markdown(report), encoding="utf-8")
    table = out_dir / f"{report.name}.csv"
    table.write_text(to_csv(report), encoding="utf-8")
    return [md, table]
