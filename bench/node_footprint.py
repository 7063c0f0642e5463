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

With ``--imports`` the report also says what each package costs a node before it serves
anything: a fresh interpreter imports what ``chordshare node`` imports
(:data:`NODE_IMPORTS`) with a hook around every module's execution that reads the process's
RSS before and after it, and sums the figures per package (the first two levels of
``chordshare``, the top level of anything else, the standard library as one row):

* ``self_mib``: RSS the package's own modules added (extension modules: their mapped code
  too); the rows add up to the total;
* ``incl_mib``: RSS added while the package was imported from outside it, with everything it
  pulled in first (what dropping or deferring that import would save; rows overlap);
* ``modules``: how many of its modules were imported.

RSS moves in whole pages and allocator arenas, so a small row is rounding; a row's size is
meant to rank the packages, not to be read to the tenth of a MiB.
"""

from __future__ import annotations

import argparse
import inspect
import json
import subprocess
import sys
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

NODE_IMPORTS = ("chordshare.cli.main", "chordshare.cli.node", "chordshare.service.node_service")
"""What ``chordshare node`` imports before it starts the node (the command's module and the
composition root it imports when it runs)."""


def import_probe(modules: list[str]) -> None:
    """Run in a fresh interpreter (``python -c``, this function's source): import ``modules``
    with every module's execution timed in RSS, and print one JSON document per package.
    Self-contained: it may use nothing of this script's module."""
    import importlib.abc
    import importlib.machinery
    import json
    import sys

    def rss() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * 4096

    def package(name: str) -> str:
        top = name.split(".")[0]
        if top == "chordshare":
            return ".".join(name.split(".")[:2])
        return "(stdlib)" if top in sys.stdlib_module_names else top

    own: dict[str, int] = {}
    incl: dict[str, int] = {}
    count: dict[str, int] = {}
    running: list[list[Any]] = []  # [name, rss at start, rss added by nested imports]

    class Measured(importlib.abc.Loader):
        def __init__(self, name: str, inner: Any) -> None:
            self.name, self.inner = name, inner

        def create_module(self, spec: Any) -> Any:
            running.append([self.name, rss(), 0])
            return self.inner.create_module(spec)

        def exec_module(self, module: Any) -> None:
            try:
                self.inner.exec_module(module)
            finally:
                name, began, nested = running.pop()
                added = rss() - began
                key = package(name)
                own[key] = own.get(key, 0) + added - nested
                count[key] = count.get(key, 0) + 1
                if not running or package(running[-1][0]) != key:
                    incl[key] = incl.get(key, 0) + added
                if running:
                    running[-1][2] += added

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
            spec = importlib.machinery.PathFinder.find_spec(name, path, target)
            if spec is not None and isinstance(spec.loader, importlib.abc.Loader):
                spec.loader = Measured(name, spec.loader)
            return spec

    # as the chordshare command does first (chordshare.cli.main), before httpx is imported
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    began = rss()
    sys.meta_path.insert(0, Finder())
    for name in modules:
        __import__(name)
    rows = [
        {"package": key, "modules": count[key], "self_mib": own[key] / 2**20}
        | {"incl_mib": incl.get(key, 0) / 2**20}
        for key in own
    ]
    total = {"before_mib": began / 2**20, "after_mib": rss() / 2**20, "modules": len(sys.modules)}
    print(json.dumps({"packages": rows, "total": total}))


def import_costs(timeout: float) -> dict[str, Any]:
    """:func:`import_probe` of :data:`NODE_IMPORTS` in a child interpreter, largest first."""
    code = "from __future__ import annotations\nfrom typing import Any\n"
    code += inspect.getsource(import_probe) + f"\nimport_probe({list(NODE_IMPORTS)!r})\n"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout
    )
    if out.returncode != 0:
        raise RuntimeError(f"the import probe failed: {out.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout)
    result["packages"].sort(key=lambda row: -row["incl_mib"])
    return result


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    imports = None
    if args.imports:
        progress(f"measuring what importing {', '.join(NODE_IMPORTS)} costs, per package")
        imports = import_costs(args.start_timeout)
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
        "imports": imports,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=8, help="nodes in the idle ring (8)")
    parser.add_argument("--window", type=float, default=20.0, help="measured window, s (20)")
    parser.add_argument("--settle", type=float, default=5.0, help="idle s before measuring")
    parser.add_argument("--start-timeout", type=float, default=120.0, help="s to be ready")
    parser.add_argument("--ring-timeout", type=float, default=120.0, help="s to converge")
    parser.add_argument(
        "--imports", action="store_true", help="also report the RSS each package's import adds"
    )
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
    tables = []
    if result["imports"] is not None:
        total = result["imports"]["total"]
        tables.append(
            (
                f"RSS the imports of `chordshare node` add, per package (MiB; "
                f"{total['before_mib']:.1f} before, {total['after_mib']:.1f} after, "
                f"{total['modules']} modules)",
                markdown_table(
                    result["imports"]["packages"], ["package", "modules", "self_mib", "incl_mib"]
                ),
            )
        )
    emit(
        args.json,
        result,
        [
            *tables,
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
