"""Memory and idle CPU of chordshare node processes in an idle ring, against idle Python
processes measured in the same run.

    python bench/node_footprint.py [--nodes 8] [--window 20] [--json]

A ring of ``--nodes`` real node processes on loopback (product defaults: maintenance every
1-2 s, 160-bit ids) is started and waited for until it is correct; after ``--settle`` seconds
nobody sends it anything but its own maintenance. Over a window of ``--window`` seconds this
script then reads, for every node and for two baseline processes started alongside:

* RSS: ``VmRSS`` of /proc/<pid>/status, sampled every second (the last and the largest);
* CPU: utime + stime of /proc/<pid>/stat at both ends of the window, as % of one core.

Baselines: ``python``, an idle interpreter (``time.sleep``), and ``python+deps``, one that
imported chordshare's third-party dependencies (gRPC, FastAPI, uvicorn, pydantic, httpx,
prometheus_client, typer, rich) and sleeps. Targets: one idle node under 60 MiB RSS
and under 1% of a core.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib import (
    BARE_PYTHON,
    DEPS_PYTHON,
    Children,
    add_ring,
    cpu_seconds,
    emit,
    maintenance_overrides,
    markdown_table,
    median,
    memory_kib,
    node_settings,
    poll,
    progress,
    provenance,
    python_child,
    ratio,
    ring_args,
    ring_problems,
    rss_kib,
    run_in_workdir,
)

from chordshare.cli.launcher import LocalCluster

TARGET_RSS_MIB = 60.0
TARGET_CPU_PCT = 1.0


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    settings = node_settings(ring_bits=args.bits, **maintenance_overrides(args.interval))
    (workdir / "ring").mkdir()
    (workdir / "baselines").mkdir()
    cluster = LocalCluster(workdir / "ring", settings=settings)
    kids = Children(workdir / "baselines")
    lifetime = str(args.start_timeout + args.ring_timeout + args.settle + args.window + 60)
    try:
        progress(f"starting {args.nodes} node processes and 2 baseline processes")
        nodes = add_ring(cluster, args.nodes, args.seeds)
        for node in nodes:
            cluster.launch(node)
        bare = kids.start("python", python_child(BARE_PYTHON, lifetime))
        deps = kids.start("python-deps", python_child(DEPS_PYTHON, lifetime))
        cluster.wait_ready(nodes, args.start_timeout)
        kids.wait_for_line([bare, deps], "ready", args.start_timeout)
        took, problems = poll(
            lambda: ring_problems(cluster, nodes, args.bits, True), args.ring_timeout, 0.5
        )
        if problems:
            raise TimeoutError(f"ring not correct after {took:.0f} s: {problems[:3]}")
        progress(f"ring correct after {took:.1f} s; idle for {args.settle:.0f} s, then measuring")
        time.sleep(args.settle)

        subjects = {n.name: n.pid for n in nodes} | {
            "python": kids.pid(bare),
            "python+deps": kids.pid(deps),
        }
        rss: dict[str, list[int]] = {name: [] for name in subjects}
        memory = {name: memory_kib(pid) for name, pid in subjects.items()}
        cpu0 = {name: cpu_seconds(pid) for name, pid in subjects.items()}
        began = time.monotonic()
        progress(f"measuring for {args.window:.0f} s (no requests to the nodes meanwhile)")
        while True:
            for name, pid in subjects.items():
                rss[name].append(rss_kib(pid))
            left = began + args.window - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(1.0, left))
        cpu1 = {name: cpu_seconds(pid) for name, pid in subjects.items()}
        window = time.monotonic() - began
        dead = [n.name for n in nodes if not n.alive]
        if dead:
            raise RuntimeError(f"nodes exited during the window: {dead}")
    finally:
        progress("stopping every process this benchmark started")
        cluster.close(grace=10.0)
        kids.close()

    rows: list[dict[str, Any]] = []
    for name in subjects:
        rows.append(
            {
                "process": name,
                "rss_mib": rss[name][-1] / 1024,
                "rss_max_mib": max(rss[name]) / 1024,
                "pss_mib": memory[name]["pss"] / 1024,
                "uss_mib": memory[name]["uss"] / 1024,
                "cpu_pct": 100 * (cpu1[name] - cpu0[name]) / window,
            }
        )
    node_rows = [r for r in rows if r["process"] not in ("python", "python+deps")]
    base = {r["process"]: r for r in rows if r["process"] in ("python", "python+deps")}
    summary = []
    picks: tuple[tuple[str, Callable[[list[float]], float]], ...] = (
        ("median node", median),
        ("worst node", max),
    )
    for label, pick in picks:
        rss_value = pick([float(r["rss_max_mib"]) for r in node_rows])
        uss_value = pick([float(r["uss_mib"]) for r in node_rows])
        cpu_value = pick([float(r["cpu_pct"]) for r in node_rows])
        summary.append(
            {
                "what": label,
                "rss_mib": rss_value,
                "rss_target": f"< {TARGET_RSS_MIB:g}",
                "rss_met": rss_value < TARGET_RSS_MIB,
                "rss_vs_python": ratio(rss_value, base["python"]["rss_max_mib"]),
                "rss_vs_python+deps": ratio(rss_value, base["python+deps"]["rss_max_mib"]),
                "uss_mib": uss_value,
                "uss_vs_python+deps": ratio(uss_value, base["python+deps"]["uss_mib"]),
                "cpu_pct": cpu_value,
                "cpu_target": f"< {TARGET_CPU_PCT:g}",
                "cpu_met": cpu_value < TARGET_CPU_PCT,
                "cpu_minus_python+deps_pct": cpu_value - base["python+deps"]["cpu_pct"],
            }
        )
    return {
        "benchmark": "node_footprint",
        "code": provenance(),
        "settings": {
            "nodes": args.nodes,
            "window_s": round(window, 2),
            "settle_s": args.settle,
            "node_config": settings,
            "node_config_note": "every other value: the product default (NodeConfig)",
        },
        "processes": rows,
        "summary": summary,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=8, help="nodes in the idle ring (8)")
    parser.add_argument("--window", type=float, default=20.0, help="measured window, s (20)")
    parser.add_argument("--settle", type=float, default=5.0, help="idle s before measuring")
    parser.add_argument("--start-timeout", type=float, default=120.0, help="s to be ready")
    parser.add_argument("--ring-timeout", type=float, default=120.0, help="s to converge")
    ring_args(parser, interval=True)
    args = parser.parse_args(argv)
    if not 1 <= args.nodes <= 200:
        parser.error("--nodes must be in 1..200")
    if args.window <= 0 or args.settle < 0:
        parser.error("--window must be positive and --settle non-negative")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = run_in_workdir(args, run)
    summary = ["what", "rss_mib", "rss_target", "rss_met", "rss_vs_python"]
    summary += ["rss_vs_python+deps", "uss_mib", "uss_vs_python+deps", "cpu_pct", "cpu_target"]
    summary += ["cpu_met"]
    summary += ["cpu_minus_python+deps_pct"]
    emit(
        args.json,
        result,
        [
            (
                f"Idle processes over {result['settings']['window_s']:.0f} s "
                f"({args.nodes}-node ring; memory in MiB: PSS splits shared pages among "
                "their sharers, USS is what only this process holds; CPU in % of one core)",
                markdown_table(
                    result["processes"],
                    ["process", "rss_mib", "rss_max_mib", "pss_mib", "uss_mib", "cpu_pct"],
                ),
            ),
            (
                "One idle node against the targets and the baselines",
                markdown_table(result["summary"], summary),
            ),
        ],
    )


if __name__ == "__main__":
    main()
