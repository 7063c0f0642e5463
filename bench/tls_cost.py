"""What mutual TLS between nodes costs: gRPC lookup steps and a file download, plaintext vs TLS.

    python bench/tls_cost.py [--lookups 2000] [--size-mib 256] [--json] [--workdir DIR]

In one run, for each mode (plaintext, then TLS via ``LocalCluster(peer_tls=True)``), a ring of
two node processes on loopback:

* **lookup**: this process sends ``--lookups`` FindSuccessorStep calls of random keys to one
  node over one cached channel (with TLS: a client certificate of the cluster's CA) and reports
  the p50 and p99 latency in ms, after a warm-up (the handshake is paid once per channel);
* **transfer**: a ``--size-mib`` file is put on the first node (both nodes hold it) and
  ``chordshare get`` downloads it through the second one from both holders over gRPC (every
  piece verified and written to disk), reporting MiB/s.

Figures, not assertions: the machines are shared and noisy. One run on a shared 2-CPU VM
(2,000 lookups, 256 MiB, other tests running; about a minute in all):

    mode       lookup p50 ms  p99 ms  transfer MiB/s
    plaintext           2.12   12.77           148.3
    tls                 1.50    7.28           119.8

Lookup steps show no TLS cost above the noise (one handshake per channel, then AES-GCM on small
messages); the download lost about a fifth of its throughput to encryption.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import time
from pathlib import Path
from typing import Any

from benchlib import emit, markdown_table, node_settings, percentile, provenance, run_in_workdir

from chordshare.cli.launcher import LocalCluster, NodeProcess, node_command
from chordshare.client.download import sha256_of
from chordshare.ring import PeerRef
from chordshare.transport.grpc import GrpcPeerClient
from chordshare.transport.grpc.tls import tls_from_environment

MIB = 1 << 20
BITS = 160


async def lookups(node: NodeProcess, count: int, env: dict[str, str]) -> list[float]:
    client = GrpcPeerClient(5.0)
    tls = tls_from_environment(env)
    if tls is not None:
        client.channels.secure(tls)
    assert node.node_id is not None
    peer = PeerRef(node.node_id, f"{node.host}:{node.grpc_port}")
    rng = random.Random(1)
    seconds = []
    try:
        for i in range(count + count // 10):
            key = rng.getrandbits(BITS)
            began = time.perf_counter()
            await client.find_successor_step(peer, key, ())
            if i >= count // 10:  # the first tenth warms the channel up
                seconds.append(time.perf_counter() - began)
    finally:
        await client.close()
    return seconds


def cli(cluster: LocalCluster, env: dict[str, str], *args: str) -> dict[str, Any]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CHORDSHARE_")}
    done = subprocess.run(
        [*node_command(), *args, "--json"],
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
        cwd=cluster.workdir,
        env={**base, "CHORDSHARE_API_TOKEN": cluster.api_token, **env},
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise SystemExit(f"chordshare {args[0]} failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def measure(args: argparse.Namespace, workdir: Path, tls: bool) -> dict[str, Any]:
    mode = "tls" if tls else "plaintext"
    workdir.mkdir()
    settings = node_settings(replication_factor=2, max_file_bytes=1 << 34)
    with LocalCluster(workdir, settings=settings, peer_tls=tls) as cluster:
        first = cluster.add()
        second = cluster.add([first])
        for node in (first, second):
            cluster.launch(node)
        cluster.wait_ready([first, second], 90.0)
        cluster.wait_ring([first, second], BITS, 90.0)
        env = cluster.client_tls_env() if tls else {}
        samples = asyncio.run(lookups(first, args.lookups, env))
        source = workdir / "payload.bin"
        with source.open("wb") as out:
            for _ in range(args.size_mib):
                out.write(os.urandom(MIB))
        cli(cluster, env, "put", str(source), "--node", first.url)
        dest = workdir / "payload-copy.bin"
        began = time.perf_counter()
        got = cli(cluster, env, "get", "payload.bin", "--node", second.url, "-o", str(dest))
        wall = time.perf_counter() - began
        if sha256_of(dest) != sha256_of(source):  # outside the timing
            raise SystemExit("downloaded content differs")
        dest.unlink()
    return {
        "mode": mode,
        "lookup_p50_ms": percentile(samples, 50) * 1000,
        "lookup_p99_ms": percentile(samples, 99) * 1000,
        "lookups": len(samples),
        "transfer_mib_per_s": got["mib_per_s"],
        "transfer_wall_s": wall,
        "size_mib": args.size_mib,
    }


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    rows = [measure(args, workdir / "plain", False), measure(args, workdir / "tls", True)]
    plain, tls = rows
    return {
        "rows": rows,
        "tls_over_plaintext": {
            "lookup_p50": tls["lookup_p50_ms"] / plain["lookup_p50_ms"],
            "transfer": tls["transfer_mib_per_s"] / plain["transfer_mib_per_s"],
        },
        "code": provenance(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=2000, help="measured lookup steps (2000)")
    parser.add_argument("--size-mib", type=int, default=256, help="file size, MiB (256)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep configs and logs here")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    result = run_in_workdir(args, run)
    columns = ["mode", "lookup_p50_ms", "lookup_p99_ms", "transfer_mib_per_s", "transfer_wall_s"]
    emit(args.json, result, [("Plaintext vs TLS", markdown_table(result["rows"], columns))])


if __name__ == "__main__":
    main()
