"""``chordshare sim``: the Chord paper's experiments on real nodes over the in-memory network.

Mounted by the main CLI as ``app.add_typer(sim_app, name="sim")``. Each command prints a markdown
table with the targets beside the measured figures (or, with ``--json``, the rows as a JSON
list), writes ``<name>.md`` and ``<name>.csv`` (and with ``--plot`` ``<name>.png``) into
``--out``, and is deterministic under ``--seed``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from chordshare.errors import PlotUnavailable
from chordshare.model.limits import DEFAULT_REPLICAS
from chordshare.ring import DEFAULT_SUCCESSOR_LIST_SIZE
from chordshare.sim import report as reports
from chordshare.sim.adversary import adversary_report
from chordshare.sim.balance import run_balance
from chordshare.sim.churn import (
    DEFAULT_DURATION,
    DEFAULT_WARMUP,
    LOOKUP_RATE,
    PAPER_RATES,
    STABILIZE_PERIOD,
    ChurnConfig,
    run_churn,
)
from chordshare.sim.estimate import DEFAULT_RINGS, run_estimate
from chordshare.sim.failures import DEFAULT_KEYS, DEFAULT_ROUNDS, run_failures
from chordshare.sim.hops import DEFAULT_LOOKUPS, run_hops
from chordshare.sim.params import parse_floats, parse_ints
from chordshare.sim.plot import plot
from chordshare.sim.protocol import PAPER_REPLICAS, Protocol
from chordshare.sim.report import Report

sim_app = typer.Typer(
    name="sim",
    help="Reproduce the Chord paper's experiments (and beat them) on simulated rings.",
    no_args_is_help=True,
    add_completion=False,
)

T = TypeVar("T")

OutOpt = Annotated[Path, typer.Option("--out", help="Directory for the .md, .csv and .png files.")]
PlotOpt = Annotated[bool, typer.Option("--plot", help="Also draw <name>.png (needs matplotlib).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the rows as a JSON list instead.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of every random choice.")]
BitsOpt = Annotated[int, typer.Option("--bits", help="Ring id width m (160: SHA-1, as the paper).")]
PaperOpt = Annotated[
    bool,
    typer.Option(
        "--paper",
        help="The paper's own setup: finger-only routing, no failover, one copy of each key.",
    ),
]
SuccessorsOpt = Annotated[
    int | None,
    typer.Option("--successors", min=1, help="Successor-list size r (default per experiment)."),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="No progress lines on stderr.")]

DEFAULT_OUT = Path("out/sim")
"""Under ``out/``, which git ignores."""


def _parsed(parse: Callable[[str], list[T]], text: str, flag: str) -> list[T]:
    try:
        return parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=flag) from exc


def _run(coroutine: Coroutine[Any, Any, Report]) -> Report:
    return asyncio.run(coroutine)


def _progress(quiet: bool, started: float) -> Callable[[str], None] | None:
    if quiet:
        return None
    return lambda line: typer.echo(f"[{time.perf_counter() - started:7.1f}s] {line}", err=True)


def _finish(report: Report, out: Path, draw: bool, as_json: bool, started: float) -> None:
    elapsed = time.perf_counter() - started
    report.notes.append(f"wall time {elapsed:.1f} s")
    written = reports.write(report, out)
    if draw:
        try:
            written.append(plot(report, out))
        except PlotUnavailable as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
    typer.echo(reports.to_json(report) if as_json else reports.to_markdown(report))
    typer.echo("wrote " + ", ".join(str(p) for p in written), err=True)


@sim_app.command()
def hops(
    nodes: Annotated[
        str, typer.Option("--nodes", help="Ring sizes, e.g. 8,16,...,16384 (powers of two).")
    ] = "8,16,...,16384",
    lookups: Annotated[int, typer.Option("--lookups", min=1, help="Lookups per size.")] = (
        DEFAULT_LOOKUPS
    ),
    successors: SuccessorsOpt = None,
    paper: PaperOpt = False,
    seed: SeedOpt = 0,
    bits: BitsOpt = 160,
    out: OutOpt = DEFAULT_OUT,
    draw: PlotOpt = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Lookup path length against N: mean, 1st and 99th percentiles (paper Fig. 10)."""
    started = time.perf_counter()
    sizes = _parsed(parse_ints, nodes, "--nodes")
    protocol = Protocol(paper=paper, successors=successors)
    report = _run(
        run_hops(
            sizes,
            lookups=lookups,
            protocol=protocol,
            seed=seed,
            bits=bits,
            progress=_progress(quiet, started),
        )
    )
    _finish(report, out, draw, as_json, started)


@sim_app.command()
def failures(
    nodes: Annotated[str, typer.Option("--nodes", help="Ring sizes.")] = "10000",
    fraction: Annotated[
        str, typer.Option("--fraction", help="Fractions failing at once, e.g. 0.1,0.2,...,0.5.")
    ] = "0.1,0.2,...,0.5",
    keys: Annotated[int, typer.Option("--keys", min=1, help="Keys stored.")] = DEFAULT_KEYS,
    lookups: Annotated[int, typer.Option("--lookups", min=1, help="Lookups per fraction.")] = (
        DEFAULT_LOOKUPS
    ),
    rounds: Annotated[
        str,
        typer.Option(
            "--rounds",
            help="Maintenance rounds after the failure, or 'converge' to run until every "
            "successor list, predecessor and finger is true again.",
        ),
    ] = str(DEFAULT_ROUNDS),
    replicas: Annotated[
        int | None,
        typer.Option(
            "--replicas",
            min=1,
            help=f"Copies k of each key (default {DEFAULT_REPLICAS}; --paper: {PAPER_REPLICAS}).",
        ),
    ] = None,
    successors: SuccessorsOpt = None,
    paper: PaperOpt = False,
    seed: SeedOpt = 0,
    bits: BitsOpt = 160,
    out: OutOpt = DEFAULT_OUT,
    draw: PlotOpt = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Fail a fraction of the nodes at once: routing failures, lost keys, hops, timeouts."""
    started = time.perf_counter()
    sizes = _parsed(parse_ints, nodes, "--nodes")
    fractions = _parsed(parse_floats, fraction, "--fraction")
    settle = None if rounds == "converge" else _parsed(parse_ints, rounds, "--rounds")[0]
    protocol = Protocol(paper=paper, successors=successors, replicas=replicas)
    report = _run(
        run_failures(
            sizes,
            fractions,
            keys=keys,
            lookups=lookups,
            rounds=settle,
            protocol=protocol,
            seed=seed,
            bits=bits,
            progress=_progress(quiet, started),
        )
    )
    _finish(report, out, draw, as_json, started)


@sim_app.command()
def churn(
    nodes: Annotated[str, typer.Option("--nodes", help="Ring sizes.")] = "500",
    rate: Annotated[
        str, typer.Option("--rate", help="Joins and crashes per second, each.")
    ] = ",".join(str(r) for r in PAPER_RATES),
    duration: Annotated[
        float, typer.Option("--duration", min=1, help="Virtual seconds of measured lookups.")
    ] = DEFAULT_DURATION,
    warmup: Annotated[
        float, typer.Option("--warmup", min=0, help="Virtual seconds of churn before measuring.")
    ] = DEFAULT_WARMUP,
    lookup_rate: Annotated[
        float, typer.Option("--lookup-rate", min=0.001, help="Lookups per virtual second.")
    ] = LOOKUP_RATE,
    period: Annotated[
        float,
        typer.Option("--period", min=0.001, help="Mean seconds between a node's maintenance runs."),
    ] = STABILIZE_PERIOD,
    successors: SuccessorsOpt = None,
    paper: PaperOpt = False,
    seed: SeedOpt = 0,
    bits: BitsOpt = 160,
    out: OutOpt = DEFAULT_OUT,
    draw: PlotOpt = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Poisson joins and crashes with randomized stabilization: failed lookups, hops, timeouts."""
    started = time.perf_counter()
    sizes = _parsed(parse_ints, nodes, "--nodes")
    rates = _parsed(parse_floats, rate, "--rate")
    config = ChurnConfig(duration=duration, warmup=warmup, lookup_rate=lookup_rate, period=period)
    report = _run(
        run_churn(
            sizes,
            rates,
            config=config,
            protocol=Protocol(paper=paper, successors=successors),
            seed=seed,
            bits=bits,
            progress=_progress(quiet, started),
        )
    )
    _finish(report, out, draw, as_json, started)


@sim_app.command()
def balance(
    nodes: Annotated[str, typer.Option("--nodes", help="Ring sizes (physical nodes).")] = "10000",
    keys: Annotated[str, typer.Option("--keys", help="Keys stored, e.g. 500000.")] = "500000",
    virtual: Annotated[
        str, typer.Option("--virtual", help="Virtual nodes per node, e.g. 1,20.")
    ] = "1",
    seed: SeedOpt = 0,
    bits: BitsOpt = 160,
    out: OutOpt = DEFAULT_OUT,
    draw: PlotOpt = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Keys per node: mean, 1st and 99th percentiles, max (paper Figs. 8 and 9)."""
    started = time.perf_counter()
    report = run_balance(
        _parsed(parse_ints, nodes, "--nodes"),
        _parsed(parse_ints, keys, "--keys"),
        _parsed(parse_ints, virtual, "--virtual"),
        seed=seed,
        bits=bits,
        progress=_progress(quiet, started),
    )
    _finish(report, out, draw, as_json, started)


@sim_app.command()
def adversary(
    shares: Annotated[
        str, typer.Option("--shares", help="Shares of lying nodes, e.g. 0.01,0.05,0.1.")
    ] = "0.01,0.05,0.1",
    nodes: Annotated[int, typer.Option("--nodes", min=2, help="Ring size.")] = 256,
    lookups: Annotated[int, typer.Option("--lookups", min=1, help="Lookups per run.")] = 2000,
    seed: SeedOpt = 7,
    out: OutOpt = DEFAULT_OUT,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Wrong owners and failed lookups with a share of nodes lying, plain against checked."""
    started = time.perf_counter()
    parsed = _parsed(parse_floats, shares, "--shares")
    if not all(0 < s < 1 for s in parsed):
        raise typer.BadParameter("every share must lie in (0, 1)", param_hint="--shares")
    report = _run(
        adversary_report(
            parsed, nodes=nodes, lookups=lookups, seed=seed, progress=_progress(quiet, started)
        )
    )
    _finish(report, out, False, as_json, started)


@sim_app.command()
def estimate(
    nodes: Annotated[str, typer.Option("--nodes", help="Ring sizes.")] = "8,32,128,512,1024",
    successors: SuccessorsOpt = None,
    rings: Annotated[int, typer.Option("--rings", min=1, help="Rings placed per size.")] = (
        DEFAULT_RINGS
    ),
    seed: SeedOpt = 0,
    bits: BitsOpt = 160,
    out: OutOpt = DEFAULT_OUT,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Error of the ring size estimate (successor density) against the true N: mean, worst,
    worst underestimate and bias over every node."""
    started = time.perf_counter()
    report = run_estimate(
        _parsed(parse_ints, nodes, "--nodes"),
        successors=successors or DEFAULT_SUCCESSOR_LIST_SIZE,
        rings=rings,
        seed=seed,
        bits=bits,
        progress=_progress(quiet, started),
    )
    _finish(report, out, False, as_json, started)
