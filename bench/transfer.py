"""Transfer throughput on loopback: raw TCP from Python (the baseline) vs chordshare downloads.

    python bench/transfer.py [--size-mib 256] [--rounds 3] [--dest-dir DIR]

In one run, interleaved round by round so that both see the same machine load:

* **raw TCP**: a sender process ``sendall``s the file's bytes from memory in 1 MiB writes; this
  process ``recv_into``s a reused buffer and discards. No hashing, no disk: the ceiling of
  moving bytes between two Python processes.
* **raw TCP + SHA-256**: the same, hashing every 1 MiB received (the cost of verification alone).
* **gRPC stream only**: one chordshare Download stream of the whole file from one provider,
  chunks discarded (the transport alone, before verification and writing).
* **chordshare, 1 and 3 providers**: provider processes serve the file from their shared
  directory over gRPC (:class:`FileTransferService`); this process runs
  :func:`chordshare.node.transfer.download.download_file`: parallel streams, every piece verified,
  written to ``<dest-dir>``, fsynced and renamed into place, and checked afterwards.

Printed per case: the median and best MiB/s over the rounds, CPU seconds per GiB (receiver,
and receiver + senders), and the ratio of the median to the raw TCP median of the same run.
Figures, not assertions (DESIGN.md §6): these machines are shared and noisy.

Measured on a 2-CPU AMD EPYC VM (load 3-4 from other work), 256 MiB, 5 rounds, into tmpfs:

    case                               median MiB/s  CPU s/GiB (+senders)  ratio
    raw TCP                                    3700       0.13       0.25   1.00
    raw TCP + SHA-256                           917       0.88       1.12   0.25
    gRPC stream only (no verify/write)         1116       0.56       1.02   0.30
    chordshare, 1 provider                      387       2.01       2.62   0.10
    chordshare, 3 providers                     435       2.01       2.74   0.12

Verification alone caps a single-core receiver at a quarter of raw TCP here, and two cores are
shared by the sender, gRPC and the receiver, so the issue's 0.5 target is out of reach on this
machine; at load 15-18 raw TCP itself fell to 700-1900 MiB/s and the ratio read 0.21-0.3.
Into ext4 with the final fsync: about 200-230 MiB/s.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing as mp
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chordshare.model.manifest import FileRecord, Provider
from chordshare.node.transfer.download import DownloadSettings, download_file

MIB = 1 << 20
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


# -- child processes ----------------------------------------------------------------------------


def raw_sender(ready: Any, size: int) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    ready.put(listener.getsockname()[1])
    block = memoryview(os.urandom(MIB))
    while True:
        conn, _ = listener.accept()
        with conn:
            for _ in range(size // MIB):
                conn.sendall(block)


def provider(ready: Any, node_id: int, root: str, shared: str) -> None:
    from chordshare.node.transfer.serve import FileTransferService
    from chordshare.ring import PeerRef
    from chordshare.storage.files.blobs import BlobStore
    from chordshare.storage.files.index import SharedIndex
    from chordshare.transport.grpc.options import server_options
    from chordshare.transport.grpc.transfer.servicer import add_transfer_service
    from chordshare.transport.ports.transfer import TransferLimits

    async def serve() -> None:
        import grpc

        limits = TransferLimits()
        index = SharedIndex(Path(shared), Path(root) / "data")
        index.scan()
        server = grpc.aio.server(options=server_options(limits.max_message_bytes))
        port = server.add_insecure_port("127.0.0.1:0")
        me = PeerRef(node_id, f"127.0.0.1:{port}")
        service = FileTransferService(me, BlobStore(Path(root) / "data"), index, limits)
        add_transfer_service(server, service)
        await server.start()
        (found,) = index.files()
        ready.put((port, found.manifest))
        await server.wait_for_termination()

    asyncio.run(serve())


# -- measurements -------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    seconds: list[float] = field(default_factory=list)
    cpu_receiver: list[float] = field(default_factory=list)
    cpu_total: list[float] = field(default_factory=list)

    def add(self, seconds: float, receiver: float, senders: float) -> None:
        self.seconds.append(seconds)
        self.cpu_receiver.append(receiver)
        self.cpu_total.append(receiver + senders)

    def rates(self, size: int) -> list[float]:
        return [size / MIB / s for s in self.seconds]


def timed(run: Callable[[], None], senders: list[int]) -> tuple[float, float, float]:
    before = sum(cpu_of(p) for p in senders)
    cpu = time.process_time()
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    return seconds, time.process_time() - cpu, sum(cpu_of(p) for p in senders) - before


def raw_receive(port: int, hashing: bool) -> None:
    buffer = bytearray(MIB)
    view = memoryview(buffer)
    with socket.create_connection(("127.0.0.1", port)) as conn:
        while True:
            got = conn.recv_into(view)
            if not got:
                return
            if hashing:
                hashlib.sha256(view[:got]).digest()


def chordshare_receive(
    record: FileRecord, dest: Path, settings: DownloadSettings
) -> Callable[[], None]:
    from chordshare.transport.grpc.transfer.client import GrpcTransferClient

    async def fetch() -> None:
        client = GrpcTransferClient()
        try:
            report = await download_file(client, record, dest, settings=settings)
        finally:
            await client.close()
        if report.bad_providers or report.fetched_pieces != record.manifest.pieces:
            raise SystemExit(f"download went wrong: {report}")

    def run() -> None:
        asyncio.run(fetch())

    return run


def stream_only(record: FileRecord) -> Callable[[], None]:
    """One Download stream of every piece from the first provider, chunks discarded: what the
    transport costs before verification and writing."""
    from chordshare.ring import PeerRef
    from chordshare.transport.grpc.transfer.client import GrpcTransferClient

    provider = record.providers[0]
    peer = PeerRef(provider.node_id, provider.grpc_address)

    async def fetch() -> None:
        client = GrpcTransferClient()
        try:
            manifest = record.manifest
            async for _ in client.download(peer, manifest.content_hash, 0, manifest.pieces):
                pass
        finally:
            await client.close()

    return lambda: asyncio.run(fetch())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--dest-dir",
        type=Path,
        default=Path("/dev/shm") if Path("/dev/shm").is_dir() else None,
        help="where downloads are written (default: tmpfs, to measure the transfer rather than "
        "the disk; every download is still fsynced)",
    )
    args = parser.parse_args(argv)
    size = args.size_mib * MIB
    ctx = mp.get_context("spawn")
    processes: list[Any] = []

    def start(target: Callable[..., None], *extra: Any) -> tuple[Any, Any]:
        ready = ctx.Queue()
        process = ctx.Process(target=target, args=(ready, *extra), daemon=True)
        process.start()
        processes.append(process)
        return process, ready.get(timeout=120)

    with tempfile.TemporaryDirectory(prefix="chordshare-bench-") as tmp:
        work = Path(tmp)
        dest_dir = (args.dest_dir or work) / f"chordshare-bench-{os.getpid()}"
        dest_dir.mkdir(parents=True, exist_ok=True)
        shared = work / "shared"
        shared.mkdir()
        source = shared / "bench.bin"
        with source.open("wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(MIB))
        expected = hashlib.sha256(source.read_bytes()).hexdigest()
        print(
            f"file: {args.size_mib} MiB, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
            f"downloads into {dest_dir}, {args.rounds} rounds"
        )

        try:
            raw_proc, raw_port = start(raw_sender, size)
            providers = [start(provider, i + 1, str(work / f"p{i}"), str(shared)) for i in range(3)]
            manifest = providers[0][1][1]
            provider_refs = [
                Provider(i + 1, f"127.0.0.1:{port}", "", 1e12)
                for i, (_, (port, _)) in enumerate(providers)
            ]
            pids = [p.pid for p, _ in providers]
            default = DownloadSettings()
            other = DownloadSettings(offload=not default.offload)
            variants = [
                (f"chordshare, 1 provider, offload={default.offload}", 1, default),
                (f"chordshare, 1 provider, offload={other.offload}", 1, other),
                (f"chordshare, 3 providers, offload={default.offload}", 3, default),
            ]
            stream_case = "gRPC stream only (no verify/write)"
            cases = {name: Case(name) for name in ("raw TCP", "raw TCP + SHA-256", stream_case)}
            cases.update((name, Case(name)) for name, _, _ in variants)
            for round_no in range(args.rounds):
                for hashing, case in ((False, "raw TCP"), (True, "raw TCP + SHA-256")):
                    result = timed(lambda h=hashing: raw_receive(raw_port, h), [raw_proc.pid])
                    cases[case].add(*result)
                one = FileRecord(manifest, tuple(provider_refs[:1]))
                cases[stream_case].add(*timed(stream_only(one), pids[:1]))
                for case, count, settings in variants:
                    dest = dest_dir / f"bench-{round_no}-{count}.bin"
                    record = FileRecord(manifest, tuple(provider_refs[:count]))
                    run = chordshare_receive(record, dest, settings)
                    cases[case].add(*timed(run, pids[:count]))
                    if hashlib.sha256(dest.read_bytes()).hexdigest() != expected:
                        raise SystemExit("downloaded bytes differ")
                    dest.unlink()
                print(f"round {round_no + 1}/{args.rounds} done", file=sys.stderr)
        finally:
            for process in processes:
                process.kill()
            for leftover in dest_dir.glob("*"):
                leftover.unlink()
            dest_dir.rmdir()

    print(f"load at the end: {os.getloadavg()[0]:.1f}")
    baseline = statistics.median(cases["raw TCP"].rates(size))
    gib = size / (1 << 30)
    print(
        f"\n{'case':<36} {'median MiB/s':>12} {'best':>8} {'CPU s/GiB':>10} "
        f"{'(+senders)':>10} {'ratio':>6}"
    )
    for case in cases.values():
        rates = case.rates(size)
        median = statistics.median(rates)
        print(
            f"{case.name:<36} {median:>12.0f} {max(rates):>8.0f} "
            f"{statistics.median(case.cpu_receiver) / gib:>10.2f} "
            f"{statistics.median(case.cpu_total) / gib:>10.2f} {median / baseline:>6.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
