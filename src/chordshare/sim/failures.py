"""Simultaneous node failures (Stoica et al. 2003, section V.D, Fig. 11).

For each fraction p a fresh converged ring of N real nodes is placed (the same ids every time);
p·N nodes, drawn at random, crash at once; every survivor then runs a few rounds of the real
maintenance (stabilize, check_predecessor, fix_fingers), and random keys are looked up from
random survivors. Routing failures are judged against the live ring; lost keys are counted over
the keys stored before the failure, for one copy (the paper) and for k replicas (ours).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from chordshare.ring.invariants import check_converged, finger_problems
from chordshare.sim.cluster import MemoryCluster
from chordshare.sim.keys import (
    expected_lost,
    keys_per_node,
    lost_fraction,
    lost_sigma,
    random_keys,
)
from chordshare.sim.lookups import Tally, measure
from chordshare.sim.protocol import Protocol, log_sized_successor_list
from chordshare.sim.report import Report, Row, Target
from chordshare.sim.stats import rounded

DEFAULT_KEYS = 1_000_000
"""Keys stored, as in the paper's experiment (10^4 nodes, 10^6 keys)."""

DEFAULT_LOOKUPS = 10_000
"""Lookups per fraction: a routing-failure rate of 0.03% would show about 3 failures."""

MAX_SETTLE_ROUNDS = 100
"""Bound on "run maintenance until converged": successor lists repair about one entry per round
(r = 28 at 10^4 nodes) and fingers take a few more rounds; a ring still unsettled after 100 has a
bug, and the row then says how many rounds ran."""

DEFAULT_ROUNDS = 3
"""Maintenance rounds between the failure and the lookups: one round already gives every
survivor a live successor (stabilize skips dead entries); the next ones clean the successor
lists it copied from successors that had not yet run, and refresh a few fingers."""

Progress = Callable[[str], None]


async def _maintain(cluster: MemoryCluster, rounds: int | None) -> int:
    """Run ``rounds`` maintenance rounds, or with ``None`` until successor lists, predecessors
    and fingers are all the true ones (the paper: "wait for the network to finish
    stabilizing"). Returns the rounds run."""
    if rounds is not None:
        for _ in range(rounds):
            await cluster.round()
        return rounds
    used = 0
    while used < MAX_SETTLE_ROUNDS and (
        check_converged(cluster.tables()) or finger_problems(cluster.tables())
    ):
        await cluster.round()
        used += 1
    return used


async def failure_row(
    cluster: MemoryCluster,
    fraction: float,
    counts: Sequence[int],
    *,
    lookups: int,
    rounds: int | None,
    replicas: int,
    rng: random.Random,
) -> Row:
    ring = sorted(cluster.nodes)
    nodes = len(ring)
    failed = set(rng.sample(ring, round(fraction * nodes)))
    if len(failed) == nodes:
        raise ValueError("every node would fail; use a fraction below 1")
    for ident in failed:
        cluster.crash(cluster.nodes[ident])
    used = await _maintain(cluster, rounds)
    live = sorted(cluster.nodes)
    members = [cluster.nodes[i] for i in live]
    bits = cluster.space.bits
    tally = Tally()
    for _ in range(lookups):
        origin = members[rng.randrange(len(members))]
        tally.add(await measure(cluster.network, origin, rng.getrandbits(bits), live))
    lost = lost_fraction(ring, counts, failed, replicas)
    return {
        "nodes": nodes,
        "fraction": fraction,
        "lookups": tally.lookups,
        "failed_lookups": tally.failed,
        "lost_keys": rounded(lost),
        "mean_hops": rounded(tally.mean_path),
        "mean_timeouts": rounded(tally.mean_timeouts),
        "replicas": replicas,
        "expected_lost": rounded(expected_lost(fraction, nodes, replicas)),
        "lost_sigma": rounded(lost_sigma(counts, fraction, replicas)),
        "lost_keys_unreplicated": rounded(lost_fraction(ring, counts, failed, 1)),
        "rounds": used,
    }


async def run_failures(
    sizes: Sequence[int],
    fractions: Sequence[float],
    *,
    keys: int = DEFAULT_KEYS,
    lookups: int = DEFAULT_LOOKUPS,
    rounds: int | None = DEFAULT_ROUNDS,
    protocol: Protocol | None = None,
    seed: int = 0,
    bits: int = 160,
    progress: Progress | None = None,
) -> Report:
    protocol = protocol or Protocol()
    rows: list[Row] = []
    setups: list[str] = []
    for nodes in sizes:
        settings = protocol.settings(log_sized_successor_list(nodes))
        setups.append(f"N={nodes}: {protocol.describe(settings)}")
        rng = random.Random(f"failures:{seed}:{nodes}")
        probe = MemoryCluster(bits, settings, seed)
        ids = probe.random_ids(nodes, rng)
        counts = keys_per_node(ids, random_keys(keys, bits, rng))
        for fraction in fractions:
            if not 0 <= fraction < 1:
                raise ValueError(f"failure fraction must be in [0, 1), got {fraction}")
            cluster = MemoryCluster(bits, settings, seed, yield_on_call=False)
            cluster.place(ids)
            cluster.verify()
            row = await failure_row(
                cluster,
                fraction,
                counts,
                lookups=lookups,
                rounds=rounds,
                replicas=protocol.copies,
                rng=random.Random(f"failures:{seed}:{nodes}:{fraction}"),
            )
            rows.append(row)
            if progress is not None:
                progress(
                    f"failures: N={nodes} p={fraction} failed={row['failed_lookups']} "
                    f"lost={row['lost_keys']}"
                )
    settle = (
        f"{rounds} maintenance rounds"
        if rounds is not None
        else "maintenance rounds until converged (fingers too)"
    )
    return Report(
        name="failures",
        title="Simultaneous failures (paper Fig. 11: failed lookups ≈ p, all of them lost keys)",
        rows=rows,
        setup=(
            "; ".join(setups) + f"; m = {bits}; {keys} keys; {settle} after the failure, then "
            f"{lookups} lookups from random survivors; seed {seed}. "
            "failed_lookups = routing failures (raised, or not the true live owner); "
            "lost_keys = keys whose k holders all failed; mean_hops = path incl. the owner."
        ),
        targets=failure_targets(rows),
    )


def failure_targets(rows: Sequence[Row]) -> list[Target]:
    targets: list[Target] = []
    for row in rows:
        p, k = float(row["fraction"]), int(row["replicas"])
        if p < 0.5:
            continue
        failed, lost = int(row["failed_lookups"]), float(row["lost_keys"])
        bound, sigma = p**k, float(row["lost_sigma"])
        targets.append(
            Target(
                f"N={row['nodes']}, p={p}: no routing failure",
                f"{failed} of {row['lookups']} lookups",
                failed == 0,
            )
        )
        targets.append(
            Target(
                f"N={row['nodes']}, p={p}: lost keys (k={k}) ≤ p^{k} = {bound:.4f} "
                f"(within 2σ sampling error, σ = {sigma:.4f})",
                f"{lost:.4f} (expected {float(row['expected_lost']):.4f})",
                lost <= bound + 2 * sigma,
            )
        )
    return targets
