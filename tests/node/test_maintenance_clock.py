"""Maintenance as the service runs it: every node's periodic tasks run concurrently on the event
loop, timed by a manual clock that the test moves. Checks Zave's invariant at every tick."""

from __future__ import annotations

import random

from chordshare.node.ring.maintenance import Maintenance
from chordshare.node.ring.settings import RingSettings
from chordshare.ring.invariants import check_converged, check_invariant, wrong_fingers
from chordshare.sim.cluster import MemoryCluster

TICK = 0.25
SETTINGS = RingSettings(
    successor_list_size=4,
    stabilize_interval=1.0,
    fix_fingers_interval=1.0,
    check_predecessor_interval=2.0,
)


async def run_until_converged(cluster: MemoryCluster, max_seconds: float) -> float:
    """Advance the clock tick by tick until converged; returns the virtual seconds taken."""
    waited = 0.0
    while waited <= max_seconds:
        tables = cluster.tables()
        assert check_invariant(tables) == [], f"at t={cluster.clock.now():.2f}"
        if not check_converged(tables):
            return waited
        await cluster.clock.advance(TICK)
        waited += TICK
    raise AssertionError(f"not converged after {max_seconds}s: {check_converged(tables)[:2]}")


async def test_concurrent_maintenance_converges_and_heals() -> None:
    cluster = MemoryCluster(bits=24, seed=5, settings=SETTINGS)
    runners: dict[int, Maintenance] = {}

    def start(node_id: int) -> None:
        m = Maintenance(cluster.nodes[node_id], cluster.clock, rng=random.Random(node_id))
        m.start()
        runners[node_id] = m

    try:
        for _ in range(16):
            node = await cluster.join()
            start(node.me.id)
            await cluster.clock.advance(TICK)
            assert check_invariant(cluster.tables()) == []
        took = await run_until_converged(cluster, max_seconds=60)
        print(f"\n16 nodes joined one by one; converged {took:.2f}s after the last join")
        await cluster.clock.advance(40)  # let fix_fingers cover every finger
        assert wrong_fingers(cluster.tables()) == 0

        # crash three nodes at once (r - 1 = 3), the ring heals within a few periods
        for _ in range(3):
            victim = cluster.random_node()
            await runners.pop(victim.me.id).stop()
            cluster.crash(victim)
        healed = await run_until_converged(cluster, max_seconds=10 * SETTINGS.stabilize_interval)
        print(f"3 crashes healed in {healed:.2f}s of virtual time")
        oracle = cluster.oracle()
        for node in cluster.nodes.values():
            key = cluster.rng.randrange(cluster.space.size)
            assert (await node.find_successor(key)).owner.id == oracle.successor(key)
        assert sum(m.bugs for m in runners.values()) == 0
    finally:
        for m in runners.values():
            await m.stop()


async def test_maintenance_survives_failing_steps() -> None:
    """A step that raises a ChordshareError is retried next period, never kills its loop."""
    cluster = MemoryCluster(bits=16, seed=9, settings=SETTINGS)
    a = await cluster.join()
    b = await cluster.join()
    await cluster.converge()
    m = Maintenance(a, cluster.clock, seeds=lambda: [b.me], rng=random.Random(1))
    m.start()
    try:
        cluster.network.partition([{a.me.grpc_address}, {b.me.grpc_address}])
        await cluster.clock.advance(30)
        cluster.network.heal()
        await cluster.clock.advance(30)
        assert all(count > 5 for count in m.runs.values()), m.runs
        assert m.bugs == 0
    finally:
        await m.stop()
