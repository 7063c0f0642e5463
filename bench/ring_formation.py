"""How long a ring of real chordshare node processes started together takes to become correct,
against the time the same number of processes take just to start, measured in the same run.

    python bench/ring_formation.py [--nodes 32] [--rounds 1] [--json]

* ``baseline``: ``--nodes`` processes launched at once, each with ``seeds = []`` (each starts a
  ring of its own: no joining), timed from the first launch until every one printed its ready
  line and answers ``/healthz``. This is Python start-up, imports, binding and the ready line,
  on this machine under its current load.
* ``ring``: ``--nodes`` processes launched at once; node 0 starts the ring, the first ``--seeds``
  nodes are the well-known seeds (they list each other), every other node lists all of them
  (rotated, so first attempts spread over the seeds). Timed from the first launch until (1) every
  node is ready, (2) the ring is correct: every node names its true successor and predecessor
  and a walk over REST visits every node in id order, (3) every successor list holds exactly the
  true next r nodes. ``*_after_ready_s``: (2) and (3) counted from (1), the convergence alone
  (target: a correct ring within 10 s of the last ready line).

The ratio ring / baseline isolates convergence from start-up. Rounds alternate which of the two
goes first. Polling the ring costs one ``GET /api/v1/node`` per node and one walk per check, so
checks are ``--poll`` seconds apart: the figures are exact to about that.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from benchlib import (
    add_ring,
    emit,
    maintenance_overrides,
    markdown_table,
    median,
    node_settings,
    poll,
    progress,
    provenance,
    ratio,
    ring_args,
    ring_problems,
    run_in_workdir,
)

from chordshare.cli.launcher import LocalCluster


def baseline_round(args: argparse.Namespace, workdir: Path, settings: dict[str, Any]) -> float:
    cluster = LocalCluster(workdir, settings=settings)
    try:
        nodes = add_ring(cluster, args.nodes, seeds=0)
        began = time.monotonic()
        for node in nodes:
            cluster.launch(node)
        cluster.wait_ready(nodes, args.start_timeout)
        return time.monotonic() - began
    finally:
        cluster.close(grace=10.0)


def ring_round(
    args: argparse.Namespace, workdir: Path, settings: dict[str, Any]
) -> dict[str, float | None]:
    cluster = LocalCluster(workdir, settings=settings)
    try:
        nodes = add_ring(cluster, args.nodes, seeds=args.seeds)
        began = time.monotonic()
        for node in nodes:
            cluster.launch(node)
        cluster.wait_ready(nodes, args.start_timeout)
        ready = time.monotonic() - began
        _, problems = poll(
            lambda: ring_problems(cluster, nodes, args.bits, False), args.ring_timeout, args.poll
        )
        correct = None if problems else time.monotonic() - began
        if problems:
            progress(f"ring not correct within {args.ring_timeout:.0f} s: {problems[:3]}")
            return {"all_ready_s": ready, "ring_correct_s": None, "lists_full_s": None}
        _, problems = poll(
            lambda: ring_problems(cluster, nodes, args.bits, True), args.ring_timeout, args.poll
        )
        full = None if problems else time.monotonic() - began
        if problems:
            progress(f"successor lists not full within {args.ring_timeout:.0f} s: {problems[:3]}")
        return {"all_ready_s": ready, "ring_correct_s": correct, "lists_full_s": full}
    finally:
        statuses = cluster.close(grace=15.0)
        bad = {name: code for name, code in statuses.items() if code != 0}
        if bad:
            progress(f"nodes that did not exit 0 on SIGTERM: {bad}")


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    overrides: dict[str, Any] = {"ring_bits": args.bits, **maintenance_overrides(args.interval)}
    settings = node_settings(**overrides) if args.join_retries else overrides
    rounds: list[dict[str, Any]] = []
    for index in range(args.rounds):
        row: dict[str, Any] = {"round": index + 1}
        order = ("baseline", "ring") if index % 2 == 0 else ("ring", "baseline")
        for kind in order:
            where = workdir / f"round{index + 1}-{kind}"
            where.mkdir()
            progress(f"round {index + 1}: {kind}, {args.nodes} processes launched at once")
            if kind == "baseline":
                row["baseline_ready_s"] = baseline_round(args, where, settings)
                progress(f"  all ready after {row['baseline_ready_s']:.1f} s")
            else:
                row |= ring_round(args, where, settings)
                progress(
                    "  ready {all_ready_s}, correct {ring_correct_s}, full {lists_full_s}".format(
                        **{k: f"{v:.1f} s" if v else "never" for k, v in row.items()}
                    )
                )
        for what in ("ring_correct", "lists_full"):
            # the convergence itself: from the last node's ready line to the ring being right
            done = row[f"{what}_s"]
            row[f"{what}_after_ready_s"] = None if done is None else done - row["all_ready_s"]
        row["ratio_correct"] = ratio(row["ring_correct_s"] or float("nan"), row["baseline_ready_s"])
        row["ratio_full"] = ratio(row["lists_full_s"] or float("nan"), row["baseline_ready_s"])
        row["load_avg_1m"] = os.getloadavg()[0]
        rounds.append(row)

    def med(key: str) -> float | None:
        values = [r[key] for r in rounds if r.get(key) is not None]
        return median(values) if len(values) == len(rounds) else None

    summary = {
        "nodes": args.nodes,
        "rounds": args.rounds,
        "baseline_ready_s": med("baseline_ready_s"),
        "all_ready_s": med("all_ready_s"),
        "ring_correct_s": med("ring_correct_s"),
        "lists_full_s": med("lists_full_s"),
        "ring_correct_after_ready_s": med("ring_correct_after_ready_s"),
        "lists_full_after_ready_s": med("lists_full_after_ready_s"),
        "ratio_correct": med("ratio_correct"),
        "ratio_full": med("ratio_full"),
    }
    return {
        "benchmark": "ring_formation",
        "code": provenance(),
        "settings": {
            "nodes": args.nodes,
            "well_known_seeds": args.seeds,
            "poll_s": args.poll,
            "node_config": settings,
            "node_config_note": "every other value: the product default (NodeConfig)",
        },
        "rounds": rounds,
        "summary": summary,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=32, help="processes per ring (32)")
    parser.add_argument("--rounds", type=int, default=1, help="baseline + ring rounds")
    parser.add_argument(
        "--join-retries",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="give every node 40 join attempts per seed, 0.2-1 s apart (default); "
        "--no-join-retries keeps the product default (5 attempts, 0.5-8 s apart)",
    )
    parser.add_argument("--poll", type=float, default=0.25, help="s between ring checks")
    parser.add_argument("--start-timeout", type=float, default=180.0, help="s to be ready")
    parser.add_argument("--ring-timeout", type=float, default=180.0, help="s to converge")
    ring_args(parser, interval=True)
    args = parser.parse_args(argv)
    if not 2 <= args.nodes <= 200:
        parser.error("--nodes must be in 2..200")
    if args.rounds < 1:
        parser.error("--rounds must be positive")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = run_in_workdir(args, run)
    columns = ["round", "baseline_ready_s", "all_ready_s", "ring_correct_s", "lists_full_s"]
    columns += ["ring_correct_after_ready_s", "lists_full_after_ready_s"]
    columns += ["ratio_correct", "ratio_full", "load_avg_1m"]
    summary = ["nodes", "rounds", "baseline_ready_s", "all_ready_s", "ring_correct_s"]
    summary += ["lists_full_s", "ring_correct_after_ready_s", "lists_full_after_ready_s"]
    summary += ["ratio_correct", "ratio_full"]
    emit(
        args.json,
        result,
        [
            (
                f"Ring formation, {args.nodes} processes started together (s from first launch)",
                markdown_table(result["rounds"], columns),
            ),
            (
                "Median over rounds (ratio: ring / baseline)",
                markdown_table([result["summary"]], summary),
            ),
        ],
    )


if __name__ == "__main__":
    main()
