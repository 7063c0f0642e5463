"""What one host flooding a node with download streams costs it: memory, against an honest read.

    python bench/host_flood.py [--size-mib 64] [--channels 50] [--streams 4] [--hold 2]
                               [--json] [--workdir DIR]

One node process on loopback shares a ``--size-mib`` file (1 MiB pieces). In one run:

* **idle**: the node's RSS after the file is indexed;
* **honest**: one Download stream of the whole file, read to the end, RSS sampled throughout;
* **flood**: ``--channels`` channels, each with a connection of its own, open ``--streams``
  Download streams each for the whole file, read one chunk and then stall (gRPC flow control
  holds the server) for ``--hold`` seconds, RSS sampled throughout; then all are cancelled.

It reports how many streams were admitted and refused (a stream whose whole file fits gRPC's
flow-control window can finish and free its slot, so a small file admits more than the bound
over the phase), and the peak RSS of each phase with its
ratio to idle. Figures, not assertions: the machines are shared and noisy. One run on a shared
2-CPU VM (defaults):

    phase   admitted  refused  peak RSS MiB  ratio to idle
    idle           0        0         88.94           1.00
    honest         1        0         92.86           1.04
    flood         16      184        141.91           1.60

Before streams were bounded per host, the same flood was all admitted and the node grew from
113 MiB to 707 MiB.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import Any

import grpc
import httpx
from benchlib import emit, markdown_table, node_settings, provenance, rss_kib, run_in_workdir

from chordshare.cli.launcher import LocalCluster, NodeProcess
from chordshare.transport.grpc.transfer.codec import DOWNLOAD_METHOD, encode_download_request

MIB = 1 << 20


def identity(message: bytes) -> bytes:
    return message


async def sample_rss(pid: int, stop: asyncio.Event, peak: list[int]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], rss_kib(pid))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.05)


async def phase(
    node: NodeProcess, request: bytes, channels: int, streams: int, hold: float, whole: bool
) -> dict[str, int]:
    """Open the streams, read (all of each, or one chunk and stall), sample the node's RSS."""
    target = f"{node.host}:{node.grpc_port}"
    chans = [
        grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(channels)
    ]
    peak = [rss_kib(node.pid)]
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(node.pid, stop, peak))
    admitted = refused = 0
    try:
        calls = [
            ch.unary_stream(DOWNLOAD_METHOD, response_deserializer=identity)(request)
            for ch in chans
            for _ in range(streams)
        ]

        async def first(call: grpc.aio.UnaryStreamCall) -> bool:
            try:
                await call.read()
            except grpc.aio.AioRpcError:
                return False
            return True

        async with asyncio.timeout(120):
            firsts = await asyncio.gather(*(first(c) for c in calls))
            admitted = sum(firsts)
            refused = len(firsts) - admitted
            if whole:
                for call, ok in zip(calls, firsts, strict=True):
                    while ok and await call.read() is not grpc.aio.EOF:
                        pass
            else:
                await asyncio.sleep(hold)  # the stalled streams stay open meanwhile
        for call in calls:
            call.cancel()
    finally:
        stop.set()
        await sampler
        await asyncio.gather(*(ch.close() for ch in chans))
    return {"admitted": admitted, "refused": refused, "peak_rss_kib": peak[0]}


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    with LocalCluster(workdir, settings=node_settings(max_file_bytes=1 << 34)) as cluster:
        node = cluster.add()
        shared = cluster.workdir / node.name / "shared"  # relative to the cluster's workdir
        shared.mkdir(parents=True, exist_ok=True)
        with (shared / "flood.bin").open("wb") as out:
            for _ in range(args.size_mib):
                out.write(os.urandom(MIB))
        cluster.launch(node)
        cluster.wait_ready([node], 90.0)
        deadline = time.monotonic() + 60
        content = ""
        while not content and time.monotonic() < deadline:
            got = httpx.get(f"{node.url}/api/v1/network/files/flood.bin", timeout=10)
            if got.status_code == 200:
                content = got.json()["records"][0]["content_hash"]
        if not content:
            raise SystemExit("the node never published flood.bin")
        request = encode_download_request(bytes.fromhex(content), 0, args.size_mib)
        idle = rss_kib(node.pid)
        honest = asyncio.run(phase(node, request, 1, 1, args.hold, whole=True))
        flood = asyncio.run(
            phase(node, request, args.channels, args.streams, args.hold, whole=False)
        )
    rows = [
        {"phase": "idle", "admitted": 0, "refused": 0, "peak_rss_mib": idle / 1024},
        *(
            {
                "phase": name,
                "admitted": r["admitted"],
                "refused": r["refused"],
                "peak_rss_mib": r["peak_rss_kib"] / 1024,
            }
            for name, r in (("honest", honest), ("flood", flood))
        ),
    ]
    for row in rows:
        row["ratio_to_idle"] = row["peak_rss_mib"] * 1024 / idle
    return {"rows": rows, "size_mib": args.size_mib, "code": provenance()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=64, help="shared file, MiB (64)")
    parser.add_argument("--channels", type=int, default=50, help="connections (50)")
    parser.add_argument("--streams", type=int, default=4, help="streams per connection (4)")
    parser.add_argument("--hold", type=float, default=2.0, help="seconds stalled (2)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep configs and logs here")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    result = run_in_workdir(args, run)
    columns = ["phase", "admitted", "refused", "peak_rss_mib", "ratio_to_idle"]
    emit(args.json, result, [("One host's flood", markdown_table(result["rows"], columns))])


if __name__ == "__main__":
    main()
