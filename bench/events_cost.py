"""What the event stream costs a node: REST latency and node CPU with 0 subscribers, 10
subscribers and 1 stalled subscriber, on one real node process, in one run.

    python bench/events_cost.py [--streams 4000] [--gets 2] [--json]

One node process on loopback (product defaults) holds one file (``--size-kib``, uploaded at the
start) and serves the same workload in each phase: ``--streams`` downloads of that file over
gRPC from the node (each a stream served: ``transfer.started`` and ``transfer.finished``), each
followed by ``--gets`` timed ``GET /api/v1/node``. Nothing accumulates on the node from one
phase to the next (an earlier version uploaded new files and measured mostly the growth of the
store). The phases, in this order:

* ``none``: nobody follows ``/api/v1/events``;
* ``10 subscribers``: a separate process follows the stream 10 times over (asyncio + httpx),
  counting the events each gets;
* ``1 stalled``: one connection asks for the stream with a 4 KiB receive buffer and never
  reads (the node's send blocks once the socket buffers fill; the hub drops it 1,000 events
  behind, and the stream is ended 30 s after its last send went nowhere);
* ``none again``: the first phase repeated, to show the drift between phases.

Figures: p50 and p99 latency of the GETs (ms), the node's CPU seconds (utime + stime from
/proc) per phase, and the ratio of each to the ``none`` phase.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import time
from pathlib import Path
from typing import Any

import httpx
from benchlib import (
    Children,
    cpu_seconds,
    emit,
    markdown_table,
    node_settings,
    percentile,
    progress,
    provenance,
    python_child,
    ratio,
    run_in_workdir,
)

from chordshare.cli.launcher import LocalCluster, NodeProcess
from chordshare.ring import PeerRef
from chordshare.transport.grpc.transfer.client import GrpcTransferClient

SUBSCRIBERS = r"""
import asyncio, json, signal, sys
import httpx

url, count = sys.argv[1], int(sys.argv[2])
counts = [0] * count


async def follow(index, client, opened):
    async with client.stream("GET", url + "/api/v1/events") as answer:
        opened.append(index)
        async for line in answer.aiter_lines():
            if line.startswith("data:"):
                counts[index] += 1


async def main():
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    opened = []
    timeout = httpx.Timeout(5.0, read=None)
    async with httpx.AsyncClient(timeout=timeout) as client:
        tasks = [asyncio.create_task(follow(i, client, opened)) for i in range(count)]
        while len(opened) < count:
            await asyncio.sleep(0.01)
        print("ready", flush=True)
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    print("counts " + json.dumps(counts), flush=True)


asyncio.run(main())
"""

STALLED_RCVBUF = 4096


def stalled_stream(node: NodeProcess) -> socket.socket:
    """A connection that asks for the event stream and never reads."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STALLED_RCVBUF)
    sock.connect((node.host, node.http_port))
    sock.sendall(
        f"GET /api/v1/events HTTP/1.1\r\nHost: {node.host}:{node.http_port}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    return sock


async def workload(
    node: NodeProcess, args: argparse.Namespace, content_hash: bytes, pieces: int
) -> tuple[list[float], float, float]:
    """The phase's streams and timed GETs; returns (GET seconds, node CPU seconds, wall s)."""
    assert node.node_id is not None
    peer = PeerRef(node.node_id, f"{node.host}:{node.grpc_port}")
    transfer = GrpcTransferClient()
    cpu0, began = cpu_seconds(node.pid), time.monotonic()
    seconds: list[float] = []
    try:
        async with httpx.AsyncClient(timeout=10.0) as http:
            for _ in range(args.streams):
                got = 0
                async for chunk in transfer.download(peer, content_hash, 0, pieces):
                    got += len(chunk.data)
                if got != args.size_kib * 1024:
                    raise RuntimeError(f"a download got {got} bytes")
                for _ in range(args.gets):
                    start = time.perf_counter()
                    answer = await http.get(f"{node.url}/api/v1/node")
                    seconds.append(time.perf_counter() - start)
                    answer.raise_for_status()
    finally:
        await transfer.close()
    return seconds, cpu_seconds(node.pid) - cpu0, time.monotonic() - began


def drops(http: httpx.Client, node: NodeProcess) -> int:
    """Event stream listeners the node dropped, as its status warnings say."""
    for warning in http.get(f"{node.url}/api/v1/status").json()["warnings"]:
        if "event stream listeners were dropped" in warning:
            return int(warning.split()[0])
    return 0


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    (workdir / "node").mkdir()
    (workdir / "children").mkdir()
    cluster = LocalCluster(workdir / "node", settings=node_settings())
    kids = Children(workdir / "children")
    rows: list[dict[str, Any]] = []
    stalled: socket.socket | None = None
    received: list[int] = []
    try:
        node = cluster.start()
        cluster.wait_ready([node], args.start_timeout)
        http = cluster.http
        body = os.urandom(args.size_kib * 1024)
        answer = http.put(f"{node.url}/api/v1/network/files/bench.bin", content=body)
        if answer.status_code != 201:
            raise RuntimeError(f"upload: {answer.status_code} {answer.text[:200]}")
        record = answer.json()["record"]
        content_hash, pieces = bytes.fromhex(record["content_hash"]), int(record["pieces"])
        progress("warming up")
        warm = argparse.Namespace(**{**vars(args), "streams": 20})
        asyncio.run(workload(node, warm, content_hash, pieces))
        phases = ("none", "10 subscribers", "1 stalled", "none again")
        for phase in phases:
            follower = None
            if phase == "10 subscribers":
                follower = kids.start("subscribers", python_child(SUBSCRIBERS, node.url, "10"))
                kids.wait_for_line([follower], "ready", 30.0)
            if phase == "1 stalled":
                stalled = stalled_stream(node)
            progress(f"phase {phase}: {args.streams} streams, {args.streams * args.gets} GETs")
            seconds, cpu, wall = asyncio.run(workload(node, args, content_hash, pieces))
            if follower is not None:
                kids.close()
                line = kids.wait_for_line([follower], "counts ", 10.0)[follower]
                received = [int(c) for c in line.split(" ", 1)[1].strip("[]\n").split(",")]
            rows.append(
                {
                    "subscribers": phase,
                    "gets": len(seconds),
                    "p50_ms": 1000 * percentile(seconds, 50),
                    "p99_ms": 1000 * percentile(seconds, 99),
                    "node_cpu_s": cpu,
                    "wall_s": wall,
                    "dropped_so_far": drops(http, node),
                }
            )
            if stalled is not None:
                stalled.close()
                stalled = None
    finally:
        progress("stopping every process this benchmark started")
        if stalled is not None:
            stalled.close()
        kids.close()
        cluster.close(grace=10.0)
    base = rows[0]
    for row in rows:
        row["p50_vs_none"] = ratio(row["p50_ms"], base["p50_ms"])
        row["p99_vs_none"] = ratio(row["p99_ms"], base["p99_ms"])
        row["cpu_vs_none"] = ratio(row["node_cpu_s"], base["node_cpu_s"])
    return {
        "benchmark": "events_cost",
        "code": provenance(),
        "settings": {
            "streams": args.streams,
            "gets_per_stream": args.gets,
            "file_kib": args.size_kib,
            "node_config": cluster.settings,
        },
        "rows": rows,
        "events_per_subscriber": received,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=4000, help="downloads per phase (4000)")
    parser.add_argument("--gets", type=int, default=2, help="timed GETs per download (2)")
    parser.add_argument("--size-kib", type=int, default=16, help="the file's size, KiB (16)")
    parser.add_argument("--small", action="store_true", help="a quick run: 10 streams, 3 GETs")
    parser.add_argument("--start-timeout", type=float, default=60.0, help="s to be ready")
    parser.add_argument("--workdir", type=Path, default=None, help="keep files here")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    if args.small:
        args.streams, args.gets = 10, 3
    if args.streams < 1 or args.gets < 1 or args.size_kib < 1:
        parser.error("--streams, --gets and --size-kib must be positive")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = run_in_workdir(args, run)
    columns = ["subscribers", "gets", "p50_ms", "p99_ms", "p50_vs_none", "p99_vs_none"]
    columns += ["node_cpu_s", "cpu_vs_none", "wall_s", "dropped_so_far"]
    counts = result["events_per_subscriber"]
    emit(
        args.json,
        result,
        [
            (
                f"REST latency (GET /api/v1/node) and node CPU per phase of {args.streams} "
                f"streams of {args.size_kib} KiB and {args.streams * args.gets} GETs; each of "
                f"the 10 subscribers got {min(counts, default=0)}-{max(counts, default=0)} "
                "events",
                markdown_table(result["rows"], columns),
            )
        ],
    )


if __name__ == "__main__":
    main()
