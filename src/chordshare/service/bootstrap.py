"""Bootstrap: learn a seed's identity over REST (discovery), then join the ring through it.

Seeds are REST URLs: ``GET <seed>/api/v1/node`` gives the seed's id and gRPC
address, then the ring protocol takes over on gRPC. Every seed is tried ``attempts`` times with
exponential backoff before the next one; when none lets us in the node gives up with one clear
message.

The retry loop is written out here rather than taken from a library on purpose: ``tenacity`` is
not a dependency, and httpx's transport retries only cover establishing a TCP connection (not a
seed that answers 503 while starting, nor the gRPC half of the join), with a fixed backoff on
the real clock. This loop retries the whole discovery + join step, is bounded by
``attempts`` per seed, and waits on the injected :class:`Clock`, so tests drive it with a manual
clock.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chordshare.clock import Clock
from chordshare.errors import ChordshareError, ConfigError, JoinFailed, PeerProtocolError
from chordshare.node.ring.chord import ChordNode
from chordshare.ring import IdSpace, PeerRef

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

NODE_PATH = "/api/v1/node"

Discover = Callable[[str], Awaitable[PeerRef]]
"""Seed URL -> the seed's identity."""


class SeedDiscovery:
    """Asks a seed who it is over REST (``GET /api/v1/node``) and checks that its ring is
    compatible with ours. Transport faults come out as :class:`PeerError` subclasses."""

    def __init__(
        self,
        space: IdSpace,
        timeout: float,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        token: str | None = None,
    ) -> None:
        """``transport``: tests pass ``httpx.ASGITransport`` to reach an app in process.
        ``token``: sent to the seeds (a ring with closed reads shares one API token)."""
        self.space = space
        self.timeout = timeout
        self.transport = transport
        self.token = token

    async def __call__(self, url: str) -> PeerRef:
        # The REST client (httpx and its TLS stack) is imported by the first discovery, not
        # with the service: a node that starts a ring and never asks a seed does without it.
        from chordshare.client.errors import GrpcPortGiven
        from chordshare.client.rest import AsyncNodeApi

        # retries=0: join_through_seeds retries the whole step, with its own backoff.
        async with AsyncNodeApi(
            url, self.timeout, retries=0, transport=self.transport, token=self.token
        ) as api:
            try:
                view = await api.node()
            except GrpcPortGiven as exc:  # a mistake in the config: no retry will fix it
                raise ConfigError(f"seed {url}: {exc}") from exc
        if view.ring_bits != self.space.bits:
            raise ConfigError(
                f"seed {url} belongs to a {view.ring_bits}-bit ring, this node is configured "
                f"with ring_bits = {self.space.bits}: every node of a ring must use the same"
            )
        try:
            return PeerRef(self.space.parse_hex(view.id), view.grpc_address, view.http_url or url)
        except ValueError as exc:
            raise PeerProtocolError(f"{url}{NODE_PATH} gave a bad identity: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Backoff:
    """``attempts`` tries per seed; waits start at ``initial`` seconds and double up to
    ``maximum``."""

    attempts: int = 5
    initial: float = 0.5
    maximum: float = 8.0

    def waits(self) -> list[float]:
        """The waits between consecutive attempts (one fewer than the attempts)."""
        out, wait = [], self.initial
        for _ in range(self.attempts - 1):
            out.append(min(wait, self.maximum))
            wait *= 2
        return out


async def join_through_seeds(
    node: ChordNode,
    seeds: Sequence[str],
    discover: Discover,
    clock: Clock,
    backoff: Backoff,
) -> PeerRef | None:
    """Join the ring through the first seed that lets us in and return it; ``None`` when this
    node starts the ring (no seeds, or the only reachable seed is this node itself).

    Raises :class:`JoinFailed` naming every seed and its last error when none works, and
    :class:`ConfigError` at once when a seed belongs to an incompatible ring.
    """
    failures: list[str] = []
    listed_self = False
    for url in seeds:
        waits = backoff.waits()
        attempt = 0
        while True:
            attempt += 1
            try:
                peer = await discover(url)
                if peer.id == node.me.id:
                    listed_self = True
                    log.info("seed %s is this node; skipping it", url)
                    break
                await node.join(peer)
            except ConfigError:
                raise
            except ChordshareError as exc:
                log.warning("seed %s, attempt %d/%d: %s", url, attempt, backoff.attempts, exc)
                if not waits:
                    failures.append(f"{url}: {exc}")
                    break
                await clock.sleep(waits.pop(0))
                continue
            log.info("joined the ring through seed %s", url)
            return peer
    if not seeds:
        return None
    if listed_self:
        if failures:
            log.warning("no other seed let us in; starting the ring this node is a seed of")
        return None
    raise JoinFailed(
        f"could not join through any of {len(seeds)} seed(s) after {backoff.attempts} "
        f"attempt(s) each: " + "; ".join(failures)
    )
