"""Lookup latency on a ring of real chordshare node processes on loopback, against the
``kademlia`` package's get() on a ring of as many kademlia processes, measured in the same run.

    python bench/lookup_latency.py [--nodes 32] [--lookups 2000] [--json]

Three ways to resolve a key, timed one request at a time (latency, not throughput):

* ``rest``: ``GET /api/v1/lookup/{key}`` on a random node, with one keep-alive httpx client; the
  node runs the lookup itself over gRPC, with its own cache of arcs seen owned
  (``RingSettings.owner_cache``);
* ``grpc``: a lookup driven from this process (``IterativeLookup`` over a ``GrpcPeerClient``)
  with a cache of arcs seen owned that lives as long as the driver, as a node's does (the
  kademlia driver keeps its routing table alike): a key in a kept arc is checked with the nodes
  the arc names, any other is routed from a random node;
* ``kademlia``: ``Server.get(key)`` from a kademlia node living in this process (the driver),
  after the driver set() every key. The driver stores nothing itself (its storage drops every
  value), so each get() crosses the network as a client's would instead of answering from the
  driver's own copy.

Every chordshare answer is checked against the brute-force oracle and every kademlia get()
against the value set. The lookups run in blocks that rotate the three methods, so that a change
in the machine's load during the run hits all three alike. Targets: p50 < 5 ms and
p99 < 25 ms on 32 nodes, and faster than kademlia's get().
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from benchlib import (
    Children,
    add_ring,
    emit,
    finger_problems,
    markdown_table,
    node_settings,
    percentile,
    poll,
    progress,
    provenance,
    ratio,
    ring_args,
    ring_problems,
    run_in_workdir,
)
from kademlia.network import Server
from kademlia.storage import IStorage

from chordshare.cli.launcher import LocalCluster, NodeProcess
from chordshare.clock import SystemClock
from chordshare.node.ring.lookup import IterativeLookup, hop_limit
from chordshare.node.ring.settings import RingSettings
from chordshare.node.ring.shortcut import OwnerCache
from chordshare.ring import IdSpace, NextHop, PeerRef
from chordshare.ring.oracle import RingOracle
from chordshare.transport.grpc import GrpcPeerClient

KADEMLIA_NODE = Path(__file__).with_name("kademlia_node.py")
KADEMLIA_NET = "127.0.1"
"""Kademlia processes live on 127.0.1.2, 127.0.1.3, ... (the driver on 127.0.1.1), apart from
the chordshare nodes on 127.0.0.2, ..."""

TARGET_P50_MS = 5.0
TARGET_P99_MS = 25.0
METHODS = (
    "rest",
    "grpc",
    "kademlia",
    "rest_healthz",
    "grpc_ping",
    "grpc_routed",
    "grpc_trusting",
)
"""The three ways to resolve a key, then diagnostics: one REST round trip (``GET /healthz``)
and one gRPC round trip (``Ping``) to a random node, the floors that show what a lookup costs
beyond the bare transport; ``grpc_routed``, the gRPC lookup without a cache (every key routed
from a random node and its owner confirmed); and ``grpc_trusting``, that lookup with
``failover=False`` (the paper's lookup, which trusts the owner it is given instead of
confirming it), which shows what the confirmation costs."""


class DropStorage(IStorage):  # type: ignore[misc]
    """Kademlia storage that keeps nothing: the driver is a client, not a replica."""

    def __setitem__(self, key: bytes, value: object) -> None:
        return None

    def __getitem__(self, key: bytes) -> object:
        raise KeyError(key)

    def get(self, key: bytes, default: object = None) -> object:
        return default

    def iter_older_than(self, seconds_old: float) -> Iterator[tuple[bytes, object]]:
        return iter(())

    def __iter__(self) -> Iterator[tuple[bytes, object]]:
        return iter(())


def no_local_step(key: int, exclude: object) -> NextHop:
    raise RuntimeError("the benchmark process is not a ring node: it has no local step")


@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)
    """Seconds per successful, correct lookup."""
    hops: list[int] = field(default_factory=list)
    wrong: int = 0
    failed: int = 0

    def row(self, method: str, targets: bool) -> dict[str, Any]:
        ms = [x * 1000 for x in self.latencies]
        p50, p99 = percentile(ms, 50), percentile(ms, 99)
        row: dict[str, Any] = {
            "method": method,
            "lookups": len(ms),
            "failed": self.failed,
            "wrong_owner": self.wrong,
            "mean_hops": sum(self.hops) / len(self.hops) if self.hops else None,
            "mean_ms": sum(ms) / len(ms) if ms else None,
            "p50_ms": p50,
            "p90_ms": percentile(ms, 90),
            "p99_ms": p99,
            "max_ms": max(ms) if ms else None,
        }
        if targets:
            row["target"] = f"p50<{TARGET_P50_MS:g}, p99<{TARGET_P99_MS:g}"
            row["met"] = bool(ms) and p50 < TARGET_P50_MS and p99 < TARGET_P99_MS
        return row


@dataclass
class Bench:
    args: argparse.Namespace
    space: IdSpace
    nodes: list[NodeProcess]
    oracle: RingOracle
    http: httpx.Client
    grpc: GrpcPeerClient
    driver: Server
    rng: random.Random
    cache: OwnerCache
    samples: dict[str, Samples] = field(default_factory=lambda: {m: Samples() for m in METHODS})

    def peer(self, node: NodeProcess) -> PeerRef:
        assert node.node_id is not None
        return PeerRef(node.node_id, f"{node.host}:{node.grpc_port}", node.url)

    # -- one block of lookups per method -------------------------------------------------------

    def rest_block(self, keys: list[str], record: bool, deadline: float) -> None:
        out = self.samples["rest"]
        for key in keys:
            if time.monotonic() > deadline:
                return
            node = self.rng.choice(self.nodes)
            url = f"{node.url}/api/v1/lookup/{quote(key, safe='')}"
            began = time.perf_counter()
            try:
                response = self.http.get(url)
                took = time.perf_counter() - began
                response.raise_for_status()
                body = response.json()
            except httpx.HTTPError as exc:
                progress(f"rest lookup of {key} on {node.name} failed: {exc}")
                out.failed += record
                continue
            if not record:
                continue
            if int(body["owner"]["id"], 16) != self.oracle.successor(self.space.hash_key(key)):
                out.wrong += 1
                continue
            out.latencies.append(took)
            out.hops.append(int(body["hops"]))

    async def grpc_block(
        self, keys: list[str], record: bool, deadline: float, *, method: str = "grpc"
    ) -> None:
        out = self.samples[method]
        failover = method != "grpc_trusting"
        cache = self.cache if method == "grpc" else None
        origin = PeerRef(0, "127.0.0.1:1", "")  # never asked: every lookup starts at a node
        max_hops = hop_limit(len(self.nodes))
        for key in keys:
            if time.monotonic() > deadline:
                return
            start = self.peer(self.rng.choice(self.nodes))
            ident = self.space.hash_key(key)
            began = time.perf_counter()
            try:
                # One IterativeLookup per lookup, as ChordNode.find_successor does.
                lookup = IterativeLookup(
                    self.space,
                    self.grpc,
                    origin,
                    no_local_step,
                    max_hops=max_hops,
                    failover=failover,
                    cache=cache,
                )
                result = await lookup.run(ident, start)
            except Exception as exc:  # LookupFailed, or a bug worth counting rather than dying
                progress(f"grpc lookup of {key} from {start.grpc_address} failed: {exc}")
                out.failed += record
                continue
            took = time.perf_counter() - began
            if not record:
                continue
            if result.owner.id != self.oracle.successor(ident):
                out.wrong += 1
                continue
            out.latencies.append(took)
            out.hops.append(result.hops)

    def healthz_block(self, count: int, record: bool, deadline: float) -> None:
        out = self.samples["rest_healthz"]
        for _ in range(count):
            if time.monotonic() > deadline:
                return
            node = self.rng.choice(self.nodes)
            began = time.perf_counter()
            try:
                self.http.get(f"{node.url}/healthz").raise_for_status()
            except httpx.HTTPError as exc:
                progress(f"GET /healthz on {node.name} failed: {exc}")
                out.failed += record
                continue
            if record:
                out.latencies.append(time.perf_counter() - began)

    async def ping_block(self, count: int, record: bool, deadline: float) -> None:
        out = self.samples["grpc_ping"]
        for _ in range(count):
            if time.monotonic() > deadline:
                return
            peer = self.peer(self.rng.choice(self.nodes))
            began = time.perf_counter()
            try:
                await self.grpc.ping(peer)
            except Exception as exc:
                progress(f"Ping of {peer.grpc_address} failed: {exc}")
                out.failed += record
                continue
            if record:
                out.latencies.append(time.perf_counter() - began)

    async def kademlia_block(self, keys: list[str], record: bool, deadline: float) -> None:
        out = self.samples["kademlia"]
        for key in keys:
            if time.monotonic() > deadline:
                return
            began = time.perf_counter()
            value = await self.driver.get(key)
            took = time.perf_counter() - began
            if not record:
                continue
            if value is None:
                out.failed += 1
            elif value != value_of(key):
                out.wrong += 1
            else:
                out.latencies.append(took)


@dataclass
class Owned:
    """Async resources living on the benchmark's event loop."""

    grpc: GrpcPeerClient | None = None
    driver: Server | None = None


def close_loop(loop: asyncio.AbstractEventLoop, owned: Owned) -> None:
    """Close the gRPC client and the kademlia driver, cancel what is left, close the loop."""
    try:
        if owned.grpc is not None:
            loop.run_until_complete(owned.grpc.close())
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if owned.driver is not None:
            owned.driver.stop()
        loop.run_until_complete(drain(pending))
    except Exception as exc:  # tidying up must not hide the benchmark's own outcome
        progress(f"closing the event loop: {type(exc).__name__}: {exc}")
    finally:
        loop.close()


async def drain(tasks: set[asyncio.Task[Any]]) -> None:
    await asyncio.gather(*tasks, return_exceptions=True)


class KademliaLog(logging.Handler):
    """Keeps the kademlia and rpcudp loggers of the driver out of the terminal (in a file) and
    counts their RPC timeouts ("Did not receive reply ...")."""

    def __init__(self, path: Path) -> None:
        super().__init__(logging.INFO)
        self.file = logging.FileHandler(path)
        self.timeouts = 0
        for name in ("kademlia", "rpcudp"):
            logger = logging.getLogger(name)
            logger.addHandler(self)
            logger.setLevel(logging.INFO)
            logger.propagate = False

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Did not receive reply"):
            self.timeouts += 1
        if record.levelno >= logging.WARNING:
            self.file.emit(record)

    def take(self) -> int:
        """Timeouts since the last call."""
        count, self.timeouts = self.timeouts, 0
        return count

    def close(self) -> None:
        for name in ("kademlia", "rpcudp"):
            logging.getLogger(name).removeHandler(self)
        self.file.close()
        super().close()


def value_of(key: str) -> str:
    return f"value of {key}"


def blocks(keys: list[str], count: int) -> list[list[str]]:
    size = max(1, -(-len(keys) // count))
    return [keys[i : i + size] for i in range(0, len(keys), size)]


async def set_all(driver: Server, keys: list[str], concurrency: int, seconds: float) -> int:
    """set() every key through the driver, ``concurrency`` at a time, within ``seconds``;
    returns the number of set() calls that stored the value nowhere."""
    gate = asyncio.Semaphore(concurrency)

    async def one(key: str) -> bool:
        async with gate:
            return bool(await driver.set(key, value_of(key)))

    async with asyncio.timeout(seconds):
        results = await asyncio.gather(*(one(k) for k in keys))
    return sum(1 for ok in results if not ok)


def start_kademlia(kids: Children, count: int, args: argparse.Namespace) -> list[tuple[str, int]]:
    """``count`` kademlia processes: the first alone, then the rest at once bootstrapping to it."""
    base = [sys.executable, str(KADEMLIA_NODE), "--max-seconds", str(args.max_seconds + 600)]
    first = kids.start("kad00", [*base, "--host", f"{KADEMLIA_NET}.2"])
    line = kids.wait_for_line([first], "kademlia ready ", args.start_timeout)[first]
    seed = line.split()[-1]
    rest = [
        kids.start(f"kad{i:02d}", [*base, "--host", f"{KADEMLIA_NET}.{2 + i}", "--bootstrap", seed])
        for i in range(1, count)
    ]
    lines = kids.wait_for_line(rest, "kademlia ready ", args.start_timeout)
    addresses = [seed, *(lines[i].split()[-1] for i in rest)]
    out = []
    for text in addresses:
        host, _, port = text.rpartition(":")
        out.append((host, int(port)))
    return out


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    rng = random.Random(args.seed)
    space = IdSpace(args.bits)
    settings = node_settings(ring_bits=args.bits)
    (workdir / "chord").mkdir()
    (workdir / "kademlia").mkdir()
    kad_log = KademliaLog(workdir / "kademlia" / "driver.log")
    loop = asyncio.new_event_loop()
    owned = Owned()
    with contextlib.ExitStack() as stack:
        # Run last to first: the processes are stopped before anything else is tidied up.
        stack.callback(kad_log.close)
        stack.callback(close_loop, loop, owned)
        http = stack.enter_context(
            httpx.Client(
                timeout=5.0,
                limits=httpx.Limits(
                    max_connections=2 * args.nodes, max_keepalive_connections=2 * args.nodes
                ),
            )
        )
        cluster = LocalCluster(workdir / "chord", settings=settings)
        stack.callback(cluster.close, grace=10.0)
        kids = Children(workdir / "kademlia")
        stack.callback(kids.close)
        stack.callback(progress, "stopping every process this benchmark started")

        progress(f"starting {args.nodes} chordshare node processes")
        nodes = add_ring(cluster, args.nodes, args.seeds)
        for node in nodes:
            cluster.launch(node)
        cluster.wait_ready(nodes, args.start_timeout)
        progress("all ready; waiting for a correct ring (full successor lists)")
        took, problems = poll(
            lambda: ring_problems(cluster, nodes, args.bits, True), args.ring_timeout, 0.5
        )
        if problems:
            raise TimeoutError(f"ring not correct after {took:.0f} s: {problems[:3]}")
        progress(f"ring correct after {took:.1f} s; waiting for every finger to be right")
        took, problems = poll(
            lambda: finger_problems(cluster, nodes, args.bits), args.fingers_timeout, 0.5
        )
        fingers_ok = not problems
        progress(
            f"fingers right after {took:.1f} s"
            if fingers_ok
            else f"fingers still wrong after {took:.0f} s ({len(problems)}, e.g. {problems[:2]}); "
            "measuring anyway"
        )
        oracle = RingOracle(space, [n.node_id for n in nodes if n.node_id is not None])

        progress(f"starting {args.nodes} kademlia node processes")
        kad_addresses = start_kademlia(kids, args.nodes, args)
        driver = Server(ksize=args.ksize, alpha=args.alpha, storage=DropStorage())
        owned.driver = driver
        loop.run_until_complete(driver.listen(0, interface=f"{KADEMLIA_NET}.1"))
        found = loop.run_until_complete(driver.bootstrap([kad_addresses[0]]))
        progress(f"kademlia driver bootstrapped ({len(found)} nodes found)")

        keys = [f"bench-{i}-{rng.getrandbits(64):016x}" for i in range(args.lookups)]
        warm = [f"warm-{i}-{rng.getrandbits(64):016x}" for i in range(args.warmup)]
        progress(f"kademlia: set() of {len(keys) + len(warm)} keys, {args.set_concurrency} at once")
        failed_sets = loop.run_until_complete(
            set_all(driver, keys + warm, args.set_concurrency, args.max_seconds)
        )
        set_timeouts = kad_log.take()
        progress(f"kademlia: {failed_sets} set() calls stored nowhere, {set_timeouts} RPC timeouts")

        owned.grpc = GrpcPeerClient(args.rpc_timeout, space=space)
        cache = OwnerCache(space, SystemClock(), vouch_ttl=RingSettings().stabilize_interval)
        bench = Bench(args, space, nodes, oracle, http, owned.grpc, driver, rng, cache)
        deadline = time.monotonic() + args.max_seconds
        progress(f"warm-up: {len(warm)} lookups per method (not timed)")
        run_block(bench, loop, warm, record=False, order=METHODS, deadline=deadline)
        kad_log.take()
        parts = blocks(keys, args.blocks)
        progress(f"measuring: {len(keys)} lookups per method in {len(parts)} blocks")
        load_before = os.getloadavg()[0]
        for index, part in enumerate(parts):
            shift = index % len(METHODS)
            order = METHODS[shift:] + METHODS[:shift]
            run_block(bench, loop, part, record=True, order=order, deadline=deadline)
        load_after = os.getloadavg()[0]
        get_timeouts = kad_log.take()
        if time.monotonic() > deadline:
            progress(f"stopped at --max-seconds {args.max_seconds}: fewer lookups than asked")

    rows = [bench.samples[m].row(m, targets=m in ("rest", "grpc")) for m in METHODS]
    by_method = {row["method"]: row for row in rows}
    kad = by_method["kademlia"]
    ratios = []
    for method in ("rest", "grpc", "grpc_routed", "grpc_trusting"):
        row = by_method[method]
        p50, p99 = ratio(row["p50_ms"], kad["p50_ms"]), ratio(row["p99_ms"], kad["p99_ms"])
        ratios.append(
            {
                "ratio": f"{method} / kademlia",
                "p50": p50,
                "p99": p99,
                "faster_than_kademlia": p50 is not None and p99 is not None and p50 < 1 and p99 < 1,
            }
        )
    for method, floor in (("rest", "rest_healthz"), ("grpc", "grpc_ping")):
        row = by_method[method]
        row["p50_over_floor"] = ratio(row["p50_ms"], by_method[floor]["p50_ms"])
    for method in ("grpc_routed", "grpc_trusting"):
        by_method[method]["p50_over_floor"] = ratio(
            by_method[method]["p50_ms"], by_method["grpc_ping"]["p50_ms"]
        )
    return {
        "benchmark": "lookup_latency",
        "code": provenance(),
        "settings": {
            "nodes": args.nodes,
            "lookups_per_method": args.lookups,
            "warmup_per_method": args.warmup,
            "blocks": args.blocks,
            "seed": args.seed,
            "node_config": settings,
            "node_config_note": "every other value: the product default (NodeConfig)",
            "seeds_per_node": args.seeds,
            "fingers_checked_before_measuring": fingers_ok,
            "kademlia": {
                "ksize": args.ksize,
                "alpha": args.alpha,
                "set_concurrency": args.set_concurrency,
                "failed_sets": failed_sets,
                "rpc_timeouts_during_sets": set_timeouts,
                "rpc_timeouts_during_gets": get_timeouts,
            },
            "load_avg_1m_before_after": [load_before, load_after],
            "bench_grpc_rpc_timeout": args.rpc_timeout,
            "grpc_cache": {
                "hits": cache.hits,
                "failed_checks": cache.misses,
                "arcs": len(cache.arcs),
            },
        },
        "rows": rows,
        "ratios": ratios,
    }


def run_block(
    bench: Bench,
    loop: asyncio.AbstractEventLoop,
    keys: list[str],
    *,
    record: bool,
    order: tuple[str, ...],
    deadline: float,
) -> None:
    for method in order:
        if method == "rest":
            bench.rest_block(keys, record, deadline)
        elif method == "grpc":
            loop.run_until_complete(bench.grpc_block(keys, record, deadline))
        elif method == "kademlia":
            loop.run_until_complete(bench.kademlia_block(keys, record, deadline))
        elif method in ("grpc_routed", "grpc_trusting"):
            loop.run_until_complete(bench.grpc_block(keys, record, deadline, method=method))
        elif method == "rest_healthz":
            bench.healthz_block(len(keys), record, deadline)
        elif method == "grpc_ping":
            loop.run_until_complete(bench.ping_block(len(keys), record, deadline))
        else:
            raise ValueError(f"unknown method {method}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=32, help="nodes in each ring (32)")
    parser.add_argument("--lookups", type=int, default=2000, help="timed lookups per method")
    parser.add_argument("--warmup", type=int, default=200, help="untimed lookups per method")
    parser.add_argument("--blocks", type=int, default=10, help="rounds rotating the methods")
    parser.add_argument("--seed", type=int, default=1, help="random seed of keys and nodes")
    parser.add_argument("--ksize", type=int, default=20, help="kademlia k (package default)")
    parser.add_argument("--alpha", type=int, default=3, help="kademlia alpha (package default)")
    parser.add_argument("--set-concurrency", type=int, default=4, help="kademlia set()s at once")
    parser.add_argument("--rpc-timeout", type=float, default=2.0, help="bench gRPC deadline, s")
    parser.add_argument("--start-timeout", type=float, default=120.0, help="s to start a ring")
    parser.add_argument("--ring-timeout", type=float, default=120.0, help="s to converge")
    parser.add_argument("--fingers-timeout", type=float, default=60.0, help="s for fingers")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="bound on measuring")
    ring_args(parser)
    args = parser.parse_args(argv)
    if not 2 <= args.nodes <= 200:
        parser.error("--nodes must be in 2..200")
    if args.lookups < 1 or args.warmup < 0 or args.blocks < 1:
        parser.error("--lookups and --blocks must be positive, --warmup non-negative")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = run_in_workdir(args, run)
    columns = ["method", "lookups", "failed", "wrong_owner", "mean_hops", "mean_ms", "p50_ms"]
    columns += ["p90_ms", "p99_ms", "max_ms", "target", "met", "p50_over_floor"]
    emit(
        args.json,
        result,
        [
            (
                f"Lookup latency, {args.nodes}-node rings on loopback (ms, one at a time; "
                "p50_over_floor: p50 over the p50 of one bare round trip of the same transport)",
                markdown_table(result["rows"], columns),
            ),
            (
                "Ratio chordshare / kademlia get() (below 1: chordshare faster)",
                markdown_table(result["ratios"], ["ratio", "p50", "p99", "faster_than_kademlia"]),
            ),
        ],
    )


if __name__ == "__main__":
    main()
