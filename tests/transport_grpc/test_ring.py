"""Five ChordNodes on real gRPC servers join, converge and answer lookups like the oracle.

Maintenance is driven by direct calls (stabilize, check_predecessor, fix_fingers) in rounds
until the ring is converged: nothing sleeps, and a round budget plus a wall-clock deadline stop a
ring that fails to converge.
"""

from __future__ import annotations

import asyncio
import random

from chordshare.ring import IdSpace, RoutingTable
from chordshare.ring.invariants import check_converged, check_invariant
from chordshare.ring.oracle import RingOracle

from .conftest import GrpcNode, Nodes

MAX_ROUNDS = 30
"""Five nodes converge in a handful of rounds (the in-memory tests need fewer than ten)."""

DEADLINE = 20.0
"""Seconds of wall clock the whole convergence may take before the test gives up; a round of five
nodes over loopback takes milliseconds."""


def tables(ring: list[GrpcNode]) -> dict[int, RoutingTable]:
    return {n.me.id: n.node.table for n in ring}


async def converge(ring: list[GrpcNode]) -> int:
    loop = asyncio.get_running_loop()
    give_up = loop.time() + DEADLINE
    for used in range(MAX_ROUNDS + 1):
        problems = check_invariant(tables(ring))
        assert used == 0 or not problems, f"invariant broken after round {used}: {problems}"
        if not problems and not check_converged(tables(ring)):
            return used
        assert loop.time() < give_up, f"not converged within {DEADLINE}s"
        for member in ring:
            await member.node.stabilize()
            await member.node.check_predecessor()
            await member.node.fix_fingers()
    raise AssertionError(
        f"not converged after {MAX_ROUNDS} rounds: {check_converged(tables(ring))}"
    )


async def test_five_nodes_join_converge_and_look_up_like_the_oracle(nodes: Nodes) -> None:
    space = IdSpace(160)
    rng = random.Random(20240611)
    ids = [0, space.size - 1, *(rng.randrange(1, space.size - 1) for _ in range(3))]
    ring = [await nodes.start(ident, space, host=f"127.0.0.{i + 2}") for i, ident in enumerate(ids)]
    for member in ring[1:]:
        await member.node.join(ring[0].me)
    await converge(ring)

    # let fix_fingers visit every finger, so that lookups take finger routes too
    for _ in range(space.bits // ring[0].node.settings.fingers_per_round + 1):
        for member in ring:
            await member.node.fix_fingers()

    oracle = RingOracle(space, ids)
    by_id = {n.me.id: n.me for n in ring}
    keys = [0, space.size - 1, *ids, *(i + 1 for i in ids if i + 1 < space.size)]
    keys += [rng.randrange(space.size) for _ in range(40)]
    for member in ring:
        for key in keys:
            found = await member.node.find_successor(key)
            assert found.owner == by_id[oracle.successor(key)], (member.me.id, key)
            assert found.timeouts == 0
