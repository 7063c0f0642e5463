"""Churn with node processes: while nodes join and leave, every published record stays
findable; after kill -9 of k-1 holders of a file at once, the file still downloads."""

from __future__ import annotations

import random
import threading
import time
from types import TracebackType
from urllib.parse import quote

import httpx
import pytest

from chordshare.cli.launcher import LocalCluster, NodeProcess, NotYet, wait_until
from tests.e2e.files_helpers import (
    BITS,
    FILES,
    MIB,
    chordshare,
    drop_file,
    holders_of,
    node_of,
    random_bytes_file,
    record,
    sha256_of,
    wait_found,
)
from tests.e2e.helpers import START_TIMEOUT, start_ring

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e"), pytest.mark.timeout(240)]

K = 3
"""The replication factor (the config default)."""
FIND_TIMEOUT = 10.0
"""Seconds a record may take to be found after a churn event. Measured retries are printed;
a record lost for good fails the test."""


def _all_findable(cluster: LocalCluster, names: list[str], rng: random.Random, event: str) -> int:
    """Look every name up from a random live node; the number of lookups that needed a retry
    (a record in transit between nodes), after which every one must be found."""
    retried = 0
    for name in names:
        asker = rng.choice(cluster.live())
        attempts = 0

        def found(name: str = name, asker: NodeProcess = asker) -> bool:
            nonlocal attempts
            attempts += 1
            if record(cluster, asker, name) is None:
                raise NotYet(f"{name} not found from {asker.name}")
            return True

        wait_until(found, FIND_TIMEOUT, f"{name} after {event}")
        retried += attempts > 1
    return retried


class Watcher:
    """Looks every name up, round after round, from nodes that stay in the ring, for as long
    as the churn goes on; every lookup that does not answer 200 is a miss."""

    def __init__(self, askers: list[NodeProcess], names: list[str]) -> None:
        self.askers = askers
        self.names = names
        self.lookups = 0
        self.misses: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watcher", daemon=True)

    def _run(self) -> None:
        turn = 0
        with httpx.Client(timeout=10.0) as http:
            while not self._stop.is_set():
                for name in self.names:
                    asker = self.askers[turn % len(self.askers)]
                    turn += 1
                    url = f"{asker.url}/api/v1/network/files/{quote(name, safe='')}"
                    try:
                        why = str(http.get(url).status_code)
                    except httpx.HTTPError as exc:
                        why = type(exc).__name__
                    self.lookups += 1
                    if why != "200":
                        self.misses.append(f"{name} from {asker.name}: {why}")
                self._stop.wait(0.05)  # a pause between rounds, not a wait for a condition

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(30.0)


def test_records_survive_churn_and_k_minus_1_holder_crashes(
    process_cluster: LocalCluster,
) -> None:
    cluster = process_cluster
    cluster.settings.update(FILES)
    rng = random.Random(11)
    nodes = start_ring(cluster, 5, rng)
    cluster.wait_ring(nodes, BITS, 30.0)
    inputs = cluster.workdir / "inputs"
    inputs.mkdir()

    # Publish: three uploads through different nodes, two files dropped into shared dirs.
    digests: dict[str, str] = {}
    holders: dict[str, list[str]] = {}
    for i in range(3):
        name = f"put-{i}.bin"
        digests[name] = random_bytes_file(inputs / name, 2 * MIB + i, seed=i)
        answer = chordshare(cluster, "put", str(inputs / name), "--node", nodes[i].url, "--json")
        holders[name] = holders_of(answer.json())
        assert len(holders[name]) == K
    for i in range(2):
        name = f"shared-{i}.bin"
        digests[name] = drop_file(cluster, nodes[3 + i], name, MIB + i, seed=10 + i)
    names = sorted(digests)
    for name in names:
        wait_found(cluster, nodes[0], name)

    # Churn: two joins, then two graceful leaves of nodes that share no dropped file, then
    # one more join. Meanwhile a watcher looks every record up from the nodes that stay; after
    # each event every record is also looked up from a random live node.
    retries = {}
    with Watcher([nodes[0], nodes[3], nodes[4]], names) as watcher:
        for step in range(2):
            joiner = cluster.start([rng.choice(cluster.live())])
            cluster.wait_ready([joiner], START_TIMEOUT)
            retries[f"join {step}"] = _all_findable(cluster, names, rng, f"join {step}")
        for leaver in (nodes[1], nodes[2]):
            leaver.terminate()
            assert leaver.wait(15) == 0
            retries[f"{leaver.name} left"] = _all_findable(cluster, names, rng, "a leave")
        joiner = cluster.start([rng.choice(cluster.live())])
        cluster.wait_ready([joiner], START_TIMEOUT)
        retries["join 2"] = _all_findable(cluster, names, rng, "join 2")
    print(f"during the churn: {watcher.lookups} lookups, misses: {watcher.misses}")
    assert watcher.lookups >= 10 * len(names)
    assert watcher.misses == []
    live = cluster.live()
    cluster.wait_ring(live, BITS, 30.0, full=False)

    # kill -9 of k-1 holders of a file, at once: it still downloads. (A file uploaded now, so
    # that all k holders are alive: a holder that left above took its copy with it.)
    name = "late.bin"
    digest = random_bytes_file(inputs / name, 8 * MIB, seed=99)
    through = rng.choice(live)
    answer = chordshare(cluster, "put", str(inputs / name), "--node", through.url, "--json")
    holding = [node_of(live, h) for h in holders_of(answer.json())]
    assert len(holding) == K
    victims = holding[: K - 1]
    for victim in victims:
        victim.kill()
    crashed = time.monotonic()
    asker = next(n for n in cluster.live() if n not in victims)
    dest = cluster.workdir / "downloads"
    dest.mkdir()
    got = chordshare(
        cluster, "get", name, "--node", asker.url, "-o", str(dest), "--json", "--sha256"
    )
    report = got.json()
    print(
        f"after kill -9 of {[v.name for v in victims]}: downloaded {time.monotonic() - crashed:.1f}"
        f" s later from {report['providers']}, dropped {len(report['bad_providers'])} providers"
    )
    assert report["sha256"] == digest == sha256_of(dest / name)
    # The surviving holder served it, or also the nodes the key owner's byte repair has copied
    # it to since; never a dead one.
    served = {p["grpc_address"] for p in report["providers"]}
    assert served, report
    assert not served & {f"{v.host}:{v.grpc_port}" for v in victims}, report
    # ...and every record published before the churn is still findable.
    retries["crash"] = _all_findable(cluster, names, rng, "kill -9 of k-1 holders")
    print(f"lookups that needed a retry after each event: {retries}")
