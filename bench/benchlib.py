"""Helpers shared by the benchmark scripts of ``bench/`` (run as ``python bench/NAME.py``).

Rules every script follows (DESIGN.md §6, §7):

* it prints figures, and a ratio against a baseline measured in the same run;
* traffic stays on 127.0.0.0/8;
* every process it starts is tracked by PID and stopped in a ``finally`` (SIGTERM, then SIGKILL
  after a grace period), and nothing else is ever signalled; SIGTERM to the script itself turns
  into ``SystemExit`` so that those ``finally`` blocks run;
* every loop is bounded in count and in time.

Progress goes to stderr; results go to stdout, as markdown tables or, with ``--json``, as one
JSON document.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chordshare
from chordshare.cli.launcher import LocalCluster, NodeProcess
from chordshare.ring import IdSpace
from chordshare.ring.oracle import RingOracle

_BEGAN = time.monotonic()

BARE_PYTHON = "import sys, time; print('ready', flush=True); time.sleep(float(sys.argv[1]))"
"""An idle interpreter (the baseline of the footprint benchmark)."""

DEPS_PYTHON = (
    "import sys, time; "
    "import grpc, grpc.aio, fastapi, uvicorn, pydantic, pydantic_settings, httpx, "
    "prometheus_client, typer, rich; "
    "print('ready', flush=True); time.sleep(float(sys.argv[1]))"
)
"""An idle interpreter that imported chordshare's third-party dependencies and nothing else."""


def progress(message: str) -> None:
    """A line on stderr, stamped with the seconds since the script started."""
    print(f"[{time.monotonic() - _BEGAN:7.1f} s] {message}", file=sys.stderr, flush=True)


def exit_on_sigterm() -> None:
    """SIGTERM raises SystemExit, so ``finally`` blocks stop the processes we started."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def provenance() -> dict[str, Any]:
    """Which code was measured: where ``chordshare`` was imported from (the repository's src/,
    or another tree put first on PYTHONPATH, e.g. an export of one commit), the repository's
    commit and whether its src/ had uncommitted changes."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip()

    source = Path(chordshare.__file__).resolve().parent.parent
    changed = git("status", "--porcelain", "--", "src")
    return {
        "chordshare_from": str(source),
        "repo_commit": git("rev-parse", "--short", "HEAD") or None,
        "repo_src_uncommitted_files": len(changed.splitlines()) if changed else 0,
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }


# -- statistics ---------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100), linear between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50.0)


def ratio(a: float, b: float) -> float | None:
    return None if b == 0 or math.isnan(a) or math.isnan(b) else a / b


def fmt(value: object, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def emit(as_json: bool, document: dict[str, Any], tables: Sequence[tuple[str, str]]) -> None:
    """Print the results: ``document`` as JSON, or each (title, markdown table) in turn."""
    if as_json:
        print(json.dumps(document, indent=2, default=str))
        return
    for title, table in tables:
        print(f"\n### {title}\n\n{table}")


# -- chordshare node processes ------------------------------------------------------------------


def node_settings(**overrides: Any) -> dict[str, Any]:
    """Config values for benchmark nodes: the product defaults, except the join retries (many
    interpreters starting at once on few cores take longer than the default 5 attempts on a seed
    allow) and whatever the caller overrides."""
    return {"join_attempts": 40, "join_backoff": 0.2, "join_backoff_max": 1.0, **overrides}


def seed_layout(count: int, seeds: int) -> list[list[int]]:
    """Seeds of each of ``count`` nodes started together: node 0 starts the ring; the first
    ``seeds`` nodes are the well-known seeds, each listing the earlier ones and the later ones
    (they point at each other); every other node lists them all, rotated so that the first
    attempts spread over the seeds."""
    seeds = max(1, min(seeds, count))
    layout: list[list[int]] = [[]]
    for index in range(1, count):
        if index < seeds:
            layout.append([i for i in range(seeds) if i != index])
        else:
            layout.append([(index + k) % seeds for k in range(seeds)])
    return layout


def add_ring(cluster: LocalCluster, count: int, seeds: int) -> list[NodeProcess]:
    """Write the configs of a ring of ``count`` nodes laid out by :func:`seed_layout` (nodes
    with seeds=[] when ``seeds`` is 0: each starts a ring of its own)."""
    nodes: list[NodeProcess] = []
    layout = seed_layout(count, seeds) if seeds > 0 else [[] for _ in range(count)]
    for _ in range(count):
        nodes.append(cluster.add())
    # A seed is a URL, known once the seed's config is written (its address and ports are picked
    # then): the configs are written first with no seeds, then their ``seeds`` line is rewritten.
    for node, seed_indexes in zip(nodes, layout, strict=True):
        urls = [nodes[i].url for i in seed_indexes]
        lines = node.config_path.read_text().splitlines()
        hits = [i for i, line in enumerate(lines) if line.startswith("seeds = ")]
        if len(hits) != 1:
            raise RuntimeError(f"{node.config_path}: expected one 'seeds = ' line")
        lines[hits[0]] = f"seeds = {json.dumps(urls)}"
        node.config_path.write_text("\n".join(lines) + "\n")
        node.seeds = urls
    return nodes


def ring_problems(
    cluster: LocalCluster, nodes: list[NodeProcess], bits: int, full: bool
) -> list[str]:
    """Why ``nodes`` are not (yet) one correct ring; an unreachable node is a problem too."""
    try:
        return cluster.ring_problems(nodes, bits, full=full)
    except Exception as exc:  # a node still starting, a refused connection, a half-formed walk
        return [f"{type(exc).__name__}: {exc}"]


def finger_problems(cluster: LocalCluster, nodes: list[NodeProcess], bits: int) -> list[str]:
    """Fingers that name another node than the true successor of their start (on a 160-bit ring
    the first ~155 entries of a 32-node ring all point at the successor: every run is checked
    at both ends)."""
    space = IdSpace(bits)
    views = [cluster.view(n) for n in nodes]
    oracle = RingOracle(space, [int(v["id"], 16) for v in views])
    problems = []
    for view in views:
        me = int(view["id"], 16)
        filled = 0
        for run in view["fingers"]:
            peer = int(run["peer"]["id"], 16)
            for index in {run["index"], run["last_index"]}:
                if oracle.finger(me, index) != peer:
                    problems.append(f"{space.short(me)} finger {index}")
            filled += run["last_index"] - run["index"] + 1
        # entries past the last node are left empty; everything before them must be filled
        wanted = sum(1 for i in range(bits) if oracle.finger(me, i) != me)
        if filled < wanted:
            problems.append(f"{space.short(me)}: {filled}/{wanted} fingers filled")
    return problems


def poll(
    check: Callable[[], list[str]], timeout: float, interval: float
) -> tuple[float, list[str]]:
    """Call ``check`` every ``interval`` s until it returns no problems or ``timeout`` passes;
    returns (seconds waited, the last problems)."""
    began = time.monotonic()
    while True:
        problems = check()
        waited = time.monotonic() - began
        if not problems or waited >= timeout:
            return waited, problems
        time.sleep(interval)


def wait_ready_at(nodes: list[NodeProcess], cluster: LocalCluster, timeout: float) -> float:
    """Block until every node printed its ready line (and answered /healthz); returns the
    monotonic time it happened."""
    cluster.wait_ready(nodes, timeout)
    return time.monotonic()


# -- other processes (baselines, kademlia nodes) ------------------------------------------------


@dataclass
class Children:
    """Processes this script started, by PID; :meth:`close` stops exactly those."""

    workdir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)

    def start(self, name: str, argv: list[str]) -> int:
        """Start ``argv`` with stdout and stderr in files under ``workdir``; returns its index."""
        out = self.workdir / f"{name}.out"
        with out.open("wb") as sink:
            proc = subprocess.Popen(
                argv,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=self.workdir,
            )
        self.procs.append(proc)
        self.outputs.append(out)
        return len(self.procs) - 1

    def output(self, index: int) -> str:
        return self.outputs[index].read_text(errors="replace")

    def wait_for_line(self, indexes: Iterable[int], mark: str, timeout: float) -> dict[int, str]:
        """Until each process printed a line containing ``mark``; returns those lines."""
        pending = set(indexes)
        lines: dict[int, str] = {}
        deadline = time.monotonic() + timeout
        while pending:
            for index in sorted(pending):
                proc = self.procs[index]
                for line in self.output(index).splitlines():
                    if mark in line:
                        lines[index] = line
                        pending.discard(index)
                        break
                else:
                    if proc.poll() is not None:
                        tail = "\n".join(self.output(index).splitlines()[-10:])
                        raise RuntimeError(
                            f"process {proc.pid} exited ({proc.returncode}):\n{tail}"
                        )
            if pending and time.monotonic() >= deadline:
                raise TimeoutError(f"{len(pending)} processes not ready within {timeout:.0f} s")
            if pending:
                time.sleep(0.05)
        return lines

    def pid(self, index: int) -> int:
        return self.procs[index].pid

    def close(self, grace: float = 5.0) -> None:
        """SIGTERM to each process still running, SIGKILL to any that outlasts ``grace``."""
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.procs:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait(5.0)


def python_child(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


# -- /proc --------------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` in KiB (``VmRSS`` of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def memory_kib(pid: int) -> dict[str, int]:
    """RSS, PSS (shared pages split among the processes sharing them) and USS (pages only this
    process holds: what its exit would free), in KiB, from /proc/<pid>/smaps_rollup."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        values[name] = int(rest.split()[0])
    return {
        "rss": values["Rss"],
        "pss": values["Pss"],
        "uss": values["Private_Clean"] + values["Private_Dirty"],
    }


def maintenance_overrides(interval: float | None) -> dict[str, float]:
    """Config values setting every maintenance interval to ``interval`` (none: the defaults)."""
    if interval is None:
        return {}
    return {
        "stabilize_interval": interval,
        "fix_fingers_interval": interval,
        "check_predecessor_interval": interval,
    }


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` in seconds (fields 14 and 15 of /proc/<pid>/stat)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()  # the command name may contain spaces
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def ring_args(parser: argparse.ArgumentParser, *, interval: bool = False) -> None:
    """The options every ring benchmark shares: seeds, ring width, workdir, JSON output, and
    (``interval``) the maintenance interval."""
    parser.add_argument("--seeds", type=int, default=3, help="well-known seed nodes (3)")
    parser.add_argument("--bits", type=int, default=160, help="ring_bits (product default 160)")
    if interval:
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="stabilize, fix_fingers and check_predecessor interval in s "
            "(default: the product defaults, 2 s / 5 s / 4 s)",
        )
    parser.add_argument("--workdir", type=Path, default=None, help="keep configs and logs here")
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def run_in_workdir(
    args: argparse.Namespace, run: Callable[[argparse.Namespace, Path], dict[str, Any]]
) -> dict[str, Any]:
    """Run the benchmark in ``--workdir`` (kept) or in a temporary directory (removed)."""
    exit_on_sigterm()
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=False)
        return run(args, args.workdir)
    with tempfile.TemporaryDirectory(prefix="chordshare-bench-") as tmp:
        return run(args, Path(tmp))
