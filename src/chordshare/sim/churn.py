"""Lookups under continuous joins and crashes (Stoica et al. 2003, section V.E, Fig. 13).

A discrete-event simulation in virtual time: joins and crashes arrive as Poisson processes, each
at ``rate`` per second; every node runs its maintenance (stabilize, check_predecessor,
fix_fingers) at intervals drawn uniformly from [0.5, 1.5] times the mean period (the paper:
[15, 45] s around 30 s); lookups of random keys from random live nodes are issued at a steady
rate. Events run one at a time in time order through the real node code, so the run is
deterministic under its seed. A lookup fails when it raises or names anyone but the key's true
live owner at that instant (the paper counts the same: "reaches the current successor").
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chordshare.clock import ManualClock
from chordshare.errors import JoinFailed
from chordshare.sim.cluster import MemoryCluster
from chordshare.sim.lookups import Tally, measure
from chordshare.sim.protocol import Protocol, log_sized_successor_list
from chordshare.sim.report import Report, Row, Target
from chordshare.sim.stats import binomial_halfwidth, rounded

PAPER_RATES = (0.05, 0.1, 0.2, 0.3, 0.4)
"""Joins and crashes per second, each: 1.5 to 12 failures per 30 s stabilization period."""

STABILIZE_PERIOD = 30.0
"""Mean seconds between two maintenance runs of a node, as in the paper."""

JITTER = 0.5
"""Each period is drawn from [1 - JITTER, 1 + JITTER] times the mean: the paper's [15, 45] s."""

DEFAULT_DURATION = 3_600.0
"""Virtual seconds of measured lookups: 3,600 lookups at one a second, so a 0.5% failure rate
shows 18 failures (±0.23 percentage points at 95%)."""

DEFAULT_WARMUP = 600.0
"""Virtual seconds of churn before measuring: 20 periods, so the ring has left the converged
state place() built and reached its steady state under churn."""

LOOKUP_RATE = 1.0
"""Lookups per virtual second, as in the paper."""

Progress = Callable[[str], None]


class _EventClock(ManualClock):
    """The simulation's clock: time jumps to each event (nothing in the node code sleeps on the
    clock in these runs, so there are no timers to fire)."""

    def jump(self, when: float) -> None:
        if self.pending:
            raise RuntimeError("a task sleeps on the simulation clock; use advance()")
        self._now = max(self._now, when)


@dataclass(frozen=True, slots=True)
class ChurnConfig:
    duration: float = DEFAULT_DURATION
    warmup: float = DEFAULT_WARMUP
    lookup_rate: float = LOOKUP_RATE
    period: float = STABILIZE_PERIOD


@dataclass
class _Counts:
    joins: int = 0
    crashes: int = 0
    join_failures: int = 0


async def churn_row(
    nodes: int, rate: float, protocol: Protocol, config: ChurnConfig, seed: int, bits: int
) -> Row:
    settings = protocol.settings(log_sized_successor_list(nodes))
    clock = _EventClock()
    cluster = MemoryCluster(bits, settings, seed, yield_on_call=False, clock=clock)
    rng = random.Random(f"churn:{seed}:{nodes}:{rate}")
    cluster.rng = rng
    cluster.place(cluster.random_ids(nodes, rng))
    cluster.verify()
    live = sorted(cluster.nodes)
    floor = settings.successor_list_size + 1  # Zave: the proof needs a ring of at least r + 1
    queue: list[tuple[float, int, str, int]] = []
    seq = itertools.count()

    def at(when: float, kind: str, ident: int = 0) -> None:
        heapq.heappush(queue, (when, next(seq), kind, ident))

    def period() -> float:
        return config.period * rng.uniform(1 - JITTER, 1 + JITTER)

    for ident in live:
        at(rng.uniform(0, config.period), "maintain", ident)
    if rate > 0:
        at(rng.expovariate(rate), "join")
        at(rng.expovariate(rate), "crash")
    end = config.warmup + config.duration
    count = int(config.duration * config.lookup_rate)
    for i in range(count):
        at(config.warmup + i / config.lookup_rate, "lookup")
    tally, counts = Tally(), _Counts()
    while queue:
        when, _, kind, ident = heapq.heappop(queue)
        if when >= end:
            break
        clock.jump(when)
        if kind == "maintain":
            node = cluster.nodes.get(ident)
            if node is None:
                continue  # crashed: its timer dies with it
            await node.stabilize()
            await node.check_predecessor()
            await node.fix_fingers()
            at(when + period(), "maintain", ident)
        elif kind == "join":
            via = cluster.nodes[live[rng.randrange(len(live))]]
            node = cluster.spawn(cluster.fresh_id())
            try:
                await node.join(via.me)
            except JoinFailed:
                counts.join_failures += 1
                cluster.discard(node)
            else:
                counts.joins += 1
                bisect.insort(live, node.me.id)
                at(when + period(), "maintain", node.me.id)
            at(when + rng.expovariate(rate), "join")
        elif kind == "crash":
            if len(live) > floor:
                victim = live.pop(rng.randrange(len(live)))
                cluster.crash(cluster.nodes[victim])
                counts.crashes += 1
            at(when + rng.expovariate(rate), "crash")
        else:
            origin = cluster.nodes[live[rng.randrange(len(live))]]
            tally.add(await measure(cluster.network, origin, rng.getrandbits(bits), live))
    return {
        "nodes": nodes,
        "rate": rate,
        "lookups": tally.lookups,
        "failed_lookups": tally.failed,
        "mean_hops": rounded(tally.mean_path),
        "mean_timeouts": rounded(tally.mean_timeouts),
        "failed_fraction": rounded(tally.failed_fraction),
        "failures_per_period": rounded(rate * config.period, 2),
        "joins": counts.joins,
        "crashes": counts.crashes,
        "join_failures": counts.join_failures,
        "final_nodes": len(live),
    }


async def run_churn(
    sizes: Sequence[int],
    rates: Sequence[float],
    *,
    config: ChurnConfig | None = None,
    protocol: Protocol | None = None,
    seed: int = 0,
    bits: int = 160,
    progress: Progress | None = None,
) -> Report:
    config = config or ChurnConfig()
    protocol = protocol or Protocol()
    rows: list[Row] = []
    setups: list[str] = []
    for nodes in sizes:
        setups.append(
            f"N={nodes}: {protocol.describe(protocol.settings(log_sized_successor_list(nodes)))}"
        )
        for rate in rates:
            if rate < 0:
                raise ValueError(f"churn rate must not be negative, got {rate}")
            row = await churn_row(nodes, rate, protocol, config, seed, bits)
            rows.append(row)
            if progress is not None:
                progress(
                    f"churn: N={nodes} rate={rate} failed={row['failed_lookups']}/{row['lookups']}"
                )
    return Report(
        name="churn",
        title="Lookups under churn (paper Fig. 13: about 3% fail at 3 failures per period)",
        rows=rows,
        setup=(
            "; ".join(setups) + f"; m = {bits}; joins and crashes each Poisson at `rate`/s; "
            f"maintenance every {config.period * (1 - JITTER):.0f}-"
            f"{config.period * (1 + JITTER):.0f} s (uniform); {config.lookup_rate:g} lookup/s "
            f"for {config.duration:.0f} s after {config.warmup:.0f} s of warm-up; seed {seed}. "
            "failed_lookups = raised, or not the key's true live owner at that instant."
        ),
        targets=churn_targets(rows),
    )


def churn_targets(rows: Sequence[Row]) -> list[Target]:
    if not rows:
        return []
    top = max(float(r["rate"]) for r in rows)
    targets = []
    for row in rows:
        if float(row["rate"]) != top:
            continue
        frac, lookups = float(row["failed_fraction"]), int(row["lookups"])
        half = binomial_halfwidth(frac, lookups)
        targets.append(
            Target(
                f"N={row['nodes']}, rate {top}/s ({row['failures_per_period']} failures per "
                "period): under 0.5% failed lookups (paper: about 3%)",
                f"{100 * frac:.2f}% ± {100 * half:.2f} (95%), {row['failed_lookups']} of {lookups}",
                frac < 0.005,
            )
        )
    return targets
