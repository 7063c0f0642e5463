"""Joining through seeds: retries with exponential backoff on the injected clock, fallback to
the next seed, self-seeds, a clear failure; discovery over REST against an in-process app."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import httpx
import pytest

from chordshare.api.app import create_app
from chordshare.errors import ConfigError, JoinFailed, PeerUnavailable
from chordshare.ring import IdSpace, PeerRef
from chordshare.service.bootstrap import Backoff, SeedDiscovery, join_through_seeds
from chordshare.sim.cluster import MemoryCluster

BACKOFF = Backoff(attempts=3, initial=0.5, maximum=0.8)


class ScriptedSeeds:
    """Seed URL -> member node, failing the first ``failures[url]`` discoveries of it."""

    def __init__(self, cluster: MemoryCluster, failures: dict[str, int]) -> None:
        self.cluster = cluster
        self.failures = dict(failures)
        self.members: dict[str, PeerRef] = {}
        self.calls: list[tuple[str, float]] = []

    async def __call__(self, url: str) -> PeerRef:
        self.calls.append((url, self.cluster.clock.now()))
        if self.failures.get(url, 0) > 0:
            self.failures[url] -= 1
            raise PeerUnavailable(f"{url} refused the connection")
        if url not in self.members:
            raise PeerUnavailable(f"{url} is down")
        return self.members[url]


async def drive(cluster: MemoryCluster, work: Awaitable[PeerRef | None]) -> PeerRef | None:
    """Run ``work`` while moving the manual clock until it finishes."""
    task = asyncio.ensure_future(work)
    while not task.done():
        await cluster.clock.advance(0.1)
    return task.result()


def test_backoff_doubles_up_to_its_cap() -> None:
    assert Backoff(attempts=6, initial=0.5, maximum=3.0).waits() == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert Backoff(attempts=1).waits() == []


async def test_no_seeds_starts_a_ring() -> None:
    cluster = MemoryCluster(bits=16)
    node = cluster.spawn()
    seeds = ScriptedSeeds(cluster, {})
    assert await join_through_seeds(node, [], seeds, cluster.clock, BACKOFF) is None
    assert seeds.calls == []


async def test_retries_with_backoff_then_joins() -> None:
    cluster = MemoryCluster(bits=16)
    first = await cluster.join()
    node = cluster.spawn()
    seeds = ScriptedSeeds(cluster, {"http://a": 2})
    seeds.members["http://a"] = first.me
    joined = await drive(
        cluster, join_through_seeds(node, ["http://a"], seeds, cluster.clock, BACKOFF)
    )
    assert joined == first.me
    assert [round(t, 1) for _, t in seeds.calls] == [0.0, 0.5, 1.3]  # waits 0.5, then 0.8 (cap)
    assert node.table.successor.id == first.me.id


async def test_a_dead_seed_is_given_up_for_the_next() -> None:
    cluster = MemoryCluster(bits=16)
    first = await cluster.join()
    node = cluster.spawn()
    seeds = ScriptedSeeds(cluster, {})
    seeds.members["http://b"] = first.me
    joined = await drive(
        cluster, join_through_seeds(node, ["http://a", "http://b"], seeds, cluster.clock, BACKOFF)
    )
    assert joined == first.me
    assert [url for url, _ in seeds.calls] == ["http://a"] * 3 + ["http://b"]


async def test_no_seed_works_names_every_seed() -> None:
    cluster = MemoryCluster(bits=16)
    node = cluster.spawn()
    seeds = ScriptedSeeds(cluster, {})
    with pytest.raises(JoinFailed) as caught:
        await drive(
            cluster,
            join_through_seeds(node, ["http://a", "http://b"], seeds, cluster.clock, BACKOFF),
        )
    message = str(caught.value)
    assert "http://a: http://a is down" in message
    assert "http://b" in message
    assert "3 attempt(s) each" in message
    assert len(seeds.calls) == 6


async def test_a_seed_that_is_this_node_is_skipped() -> None:
    cluster = MemoryCluster(bits=16)
    node = cluster.spawn()
    seeds = ScriptedSeeds(cluster, {})
    seeds.members["http://me"] = node.me
    # Only itself and a dead seed: this node starts the ring the others will find it in.
    result = await drive(
        cluster, join_through_seeds(node, ["http://me", "http://x"], seeds, cluster.clock, BACKOFF)
    )
    assert result is None
    assert [url for url, _ in seeds.calls].count("http://me") == 1


async def test_an_incompatible_seed_fails_at_once() -> None:
    cluster = MemoryCluster(bits=16)
    node = cluster.spawn()
    calls = []

    async def discover(url: str) -> PeerRef:
        calls.append(url)
        raise ConfigError("seed belongs to a 160-bit ring")

    with pytest.raises(ConfigError):
        await join_through_seeds(node, ["http://a", "http://b"], discover, cluster.clock, BACKOFF)
    assert calls == ["http://a"]


async def test_discovery_reads_the_seed_identity_over_rest() -> None:
    cluster = MemoryCluster(bits=32)
    seed = await cluster.join()
    app = create_app(seed)
    discover = SeedDiscovery(IdSpace(32), 1.0, transport=httpx.ASGITransport(app=app))
    peer = await discover("http://seed.test")
    assert peer == seed.me
    assert (peer.grpc_address, peer.http_url) == (seed.me.grpc_address, seed.me.http_url)


async def test_discovery_refuses_a_ring_of_another_width() -> None:
    cluster = MemoryCluster(bits=32)
    app = create_app(await cluster.join())
    discover = SeedDiscovery(IdSpace(160), 1.0, transport=httpx.ASGITransport(app=app))
    with pytest.raises(ConfigError, match="32-bit ring"):
        await discover("http://seed.test")


async def test_discovery_of_a_dead_url_is_a_peer_error() -> None:
    discover = SeedDiscovery(IdSpace(32), 1.0)
    with pytest.raises(PeerUnavailable):
        await discover("http://127.0.0.254:9")
