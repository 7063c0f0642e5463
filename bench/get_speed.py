"""`chordshare get` end to end against plain transfers of the same file on loopback.

    python bench/get_speed.py [--size-mib 512] [--rounds 3] [--dest-dir DIR] [--plot PNG]
                              [--json] [--workdir DIR]

Every case is one client process, timed from its start to its exit (interpreter start, imports
and the final fsync included), writing the file into ``--dest-dir`` (default /dev/shm, so that
the figures are of the transfer rather than of this VM's disk); the bytes are checked with
SHA-256 afterwards, outside the timing. In one run, interleaved round by round so that every
case sees the same machine load:

* **raw TCP**: a sender process ``sendfile``s the file; the client ``recv_into``s a reused 1 MiB
  buffer, ``write``s it and fsyncs: the ceiling of moving a file between two processes.
* **raw TCP + BLAKE3**: the same client, hashing what it receives (the cost of verification).
* **nginx -> curl**: nginx (``nginx-light``) serves the file with sendfile from a generated
  config on 127.0.0.1; ``curl -o`` writes it (then ``sync FILE``). Skipped, with a line saying
  so, unless both are installed.
* **libtorrent, 1 seeder**: ``python3-libtorrent`` under the system python3, a seeder and a
  downloader on loopback (no DHT, LSD, UPnP, NAT-PMP or uTP). Skipped unless importable.
* **chordshare get, 1 / 3 providers**: ``chordshare get NAME --json`` against real node
  processes (:class:`LocalCluster`) sharing the file in 1 or 3 shared directories.
* **REST /content**: ``curl`` of ``/api/v1/network/files/{name}/content`` from a node that does
  not hold the file (it downloads it from its one provider, verifying every piece, and streams
  it as the pieces are verified; a new content each round, so it never holds it already), and
  from the node that shares it (a plain file response).

Before each timed run the source is read through the page cache and as much memory as the file
is allocated, touched and freed: this VM hands freed memory back to its host, and a run that
faults it in again measured up to 2x slower.

Printed: the median and best MiB/s over the rounds, the client's CPU seconds per GiB, and the
median's ratio to raw TCP's median of the same run. Figures, not assertions (DESIGN.md §6).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchlib import (
    Children,
    emit,
    markdown_table,
    median,
    node_settings,
    progress,
    provenance,
    run_in_workdir,
)
from get_speed_peers import (
    LIBTORRENT_GET,
    LIBTORRENT_SEED,
    RAW_RECEIVER,
    RAW_SENDER,
    free_port,
    libtorrent_python,
    make_file,
    nginx_config,
    plot,
    sbin,
    sha256_of,
    warm,
)

from chordshare.cli.launcher import LocalCluster, NodeProcess, node_command, wait_until
from chordshare.cli.node_process import NotYet

MIB = 1 << 20
RAW = "raw TCP (sendfile -> recv_into + write)"


@dataclass
class Case:
    name: str
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def row(self, size: int, baseline: float | None) -> dict[str, Any]:
        rates = [size / MIB / s for s in self.seconds]
        gib = size / (1 << 30)
        mid = median(rates)
        return {
            "case": self.name,
            "median_mib_s": round(mid, 1),
            "best_mib_s": round(max(rates), 1),
            "client_cpu_s_per_gib": round(median(self.cpu) / gib, 2),
            "ratio": None if baseline is None else round(mid / baseline, 2),
            "seconds": [round(s, 3) for s in self.seconds],
        }


@dataclass
class Client:
    """One way to fetch the file: ``argv(dest)`` is the timed command; ``after(dest)`` runs
    once it exited (timed too: a sync for clients that do not fsync)."""

    name: str
    argv: Callable[[Path], list[str]]
    env: dict[str, str] | None = None
    sync: bool = False
    check: Callable[[str], None] | None = None


def run_client(client: Client, dest: Path, timeout: float) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the client and its children, its stdout)."""
    out = dest.with_name(dest.name + ".stdout")
    began = time.perf_counter()
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            client.argv(dest),
            stdout=sink,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=client.env,
        )
        try:
            _, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
    if proc.returncode != 0:
        raise SystemExit(f"{client.name} failed ({proc.returncode}): {stderr.decode()[-2000:]}")
    if client.sync:
        subprocess.run(["sync", "--", str(dest)], check=True, timeout=timeout)
    seconds = time.perf_counter() - began
    text = out.read_text()
    out.unlink()
    return seconds, _children_cpu(), text


_cpu_seen = 0.0


def _children_cpu() -> float:
    """CPU seconds of the children reaped since the last call."""
    global _cpu_seen
    times = os.times()
    total = times.children_user + times.children_system
    spent, _cpu_seen = total - _cpu_seen, total
    return spent


# -- the providers -------------------------------------------------------------------------------


def start_nodes(
    cluster: LocalCluster, work: Path, size: int, rounds: int
) -> tuple[list[NodeProcess], dict[str, Path]]:
    """Node 0 shares one.bin and rest-R.bin; nodes 0-2 share three.bin; node 3 shares nothing
    (it fetches for REST readers)."""
    nodes = [cluster.add()]
    nodes += [cluster.add([nodes[0]]) for _ in range(3)]
    sources = {"one.bin": work / "one.bin", "three.bin": work / "three.bin"}
    sources.update({f"rest-{r}.bin": work / f"rest-{r}.bin" for r in range(rounds)})
    for name, path in sources.items():
        make_file(path, size, name.encode())
    for index, node in enumerate(nodes):
        shared = cluster.workdir / node.name / "shared"
        shared.mkdir(parents=True)
        names = [n for n in sources if n == "three.bin" or index == 0] if index < 3 else []
        for name in names:
            os.link(sources[name], shared / name)
    for node in nodes:
        cluster.launch(node)
    cluster.wait_ready(nodes, 120.0)
    wanted = {name: 3 if name == "three.bin" else 1 for name in sources}

    def published() -> bool:
        for name, count in wanted.items():
            answer = cluster.http.get(f"{nodes[0].url}/api/v1/network/files/{name}")
            found = len(answer.json()["records"][0]["providers"]) if answer.is_success else 0
            if found < count:
                raise NotYet(f"{name}: {found} of {count} providers published")
        return True

    wait_until(published, 120.0, "files published")
    return nodes, sources


# -- the clients ---------------------------------------------------------------------------------


def clients(
    args: argparse.Namespace, work: Path, children: Children, nodes: list[NodeProcess], size: int
) -> tuple[list[Client], list[str]]:
    """The clients to time, and a line for each case that cannot run here."""
    skipped: list[str] = []
    py = sys.executable
    raw = children.start("raw-sender", [py, "-c", RAW_SENDER, str(work / "one.bin")])
    raw_port = children.wait_for_line([raw], "port", 30.0)[raw].split()[1]
    out: list[Client] = [
        Client(RAW, lambda d: [py, "-c", RAW_RECEIVER, raw_port, str(d), "", str(size)]),
        Client(
            "raw TCP + BLAKE3",
            lambda d: [py, "-c", RAW_RECEIVER, raw_port, str(d), "blake3", str(size)],
        ),
    ]
    curl, nginx = shutil.which("curl"), shutil.which("nginx") or sbin("nginx")
    if curl and nginx:
        port = free_port()
        prefix = work / "nginx"
        prefix.mkdir()
        conf = prefix / "nginx.conf"
        conf.write_text(nginx_config(prefix, work, port))
        index = children.start("nginx", [nginx, "-p", str(prefix), "-c", str(conf)])
        wait_until(lambda: _listening(port, children, index), 30.0, "nginx listening")
        url = f"http://127.0.0.1:{port}/one.bin"
        out.append(
            Client("nginx -> curl", lambda d: [curl, "-sS", "-f", "-o", str(d), url], sync=True)
        )
    else:
        skipped.append(
            "nginx -> curl: not measured (needs nginx and curl: apt-get install nginx-light curl)"
        )
    lt_python = libtorrent_python()
    if lt_python is not None:
        seed = children.start(
            "libtorrent-seed", [lt_python, "-c", LIBTORRENT_SEED, str(work / "one.bin"), str(work)]
        )
        line = children.wait_for_line([seed], "seeding", 120.0)[seed]
        seed_port = line.split()[1]
        torrent = str(work / "one.bin.torrent")
        out.append(
            Client(
                "libtorrent, 1 seeder",
                lambda d: [lt_python, "-c", LIBTORRENT_GET, torrent, seed_port, str(d)],
            )
        )
    else:
        skipped.append(
            "libtorrent: not measured (python3-libtorrent is not importable by python3: "
            "apt-get install python3-libtorrent)"
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHORDSHARE_")}
    for name, label in (("one.bin", "1 provider"), ("three.bin", "3 providers")):
        out.append(
            Client(
                f"chordshare get, {label}",
                lambda d, n=name: [
                    *node_command(),
                    "get",
                    n,
                    "--node",
                    nodes[0].url,
                    "-o",
                    str(d),
                    "--json",
                ],
                env=env,
                check=_get_checker(name),
            )
        )
    if curl:
        fetcher, holder = nodes[3], nodes[0]
        base = "/api/v1/network/files"
        out.append(
            Client(
                "REST /content, node fetches (1 provider)",
                lambda d: [
                    curl,
                    "-sS",
                    "-f",
                    "-o",
                    str(d),
                    f"{fetcher.url}{base}/{d.name}/content",
                ],
                sync=True,
            )
        )
        out.append(
            Client(
                "REST /content, node holds the file",
                lambda d: [curl, "-sS", "-f", "-o", str(d), f"{holder.url}{base}/one.bin/content"],
                sync=True,
            )
        )
    else:
        for where in ("node fetches", "node holds the file"):
            skipped.append(
                f"REST /content, {where}: not measured (needs curl: apt-get install curl)"
            )
    return out, skipped


def _listening(port: int, children: Children, index: int) -> bool:
    if children.procs[index].poll() is not None:
        raise RuntimeError(f"nginx exited: {children.output(index)[-2000:]}")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
    except OSError as exc:
        raise NotYet(f"nginx not listening yet: {exc}") from exc
    return True


def _get_checker(name: str) -> Callable[[str], None]:
    import json

    def check(stdout: str) -> None:
        report = json.loads(stdout)
        if report["bad_providers"] or report["fetched_pieces"] != report["pieces"]:
            raise SystemExit(f"get {name} went wrong: {report}")

    return check


# -- the run -------------------------------------------------------------------------------------


def source_of(client: Client, sources: dict[str, Path], round_no: int) -> Path:
    if client.name.startswith("REST /content, node fetches"):
        return sources[f"rest-{round_no}.bin"]
    return sources["three.bin" if "3 providers" in client.name else "one.bin"]


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    size = args.size_mib * MIB
    dest_dir = (args.dest_dir or work) / f"get-speed-{os.getpid()}"
    dest_dir.mkdir(parents=True)
    children = Children(work)
    settings = node_settings(max_file_bytes=max(size, 1 << 30))
    try:
        with LocalCluster(work / "cluster", settings=settings) as cluster:
            (work / "cluster").mkdir()
            progress(f"making {len(['one', 'three']) + args.rounds} files of {args.size_mib} MiB")
            nodes, sources = start_nodes(cluster, work, size, args.rounds)
            expected = {name: sha256_of(path) for name, path in sources.items()}
            timed, skipped = clients(args, work, children, nodes, size)
            for line in skipped:
                print(line, file=sys.stderr)
            cases = {c.name: Case(c.name) for c in timed}
            for round_no in range(args.rounds):
                for client in timed:
                    source = source_of(client, sources, round_no)
                    dest = dest_dir / source.name
                    warm(size, [source])
                    _children_cpu()
                    seconds, cpu, stdout = run_client(client, dest, args.timeout)
                    if client.check is not None:
                        client.check(stdout)
                    if sha256_of(dest) != expected[source.name]:
                        raise SystemExit(f"{client.name}: the bytes written differ")
                    dest.unlink()
                    cases[client.name].seconds.append(seconds)
                    cases[client.name].cpu.append(cpu)
                progress(f"round {round_no + 1}/{args.rounds} done")
    finally:
        children.close()
        shutil.rmtree(dest_dir, ignore_errors=True)
    baseline = median([size / MIB / s for s in cases[RAW].seconds])
    rows = [case.row(size, baseline) for case in cases.values()]
    result = {
        "rows": rows,
        "skipped": skipped,
        "settings": {"size_mib": args.size_mib, "rounds": args.rounds, "dest_dir": str(dest_dir)},
        "load_avg_end": [round(x, 2) for x in os.getloadavg()],
        "code": provenance(),
    }
    if args.plot is not None:
        result["plot"] = plot(rows, args.plot, result["code"], args.size_mib)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=512, help="file size, MiB (512)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every case (3)")
    parser.add_argument(
        "--dest-dir",
        type=Path,
        default=Path("/dev/shm") if Path("/dev/shm").is_dir() else None,
        help="where clients write (default /dev/shm; every client still fsyncs)",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per client run")
    parser.add_argument("--plot", type=Path, default=None, help="write a PNG bar chart here")
    parser.add_argument("--workdir", type=Path, default=None, help="keep configs and logs here")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    result = run_in_workdir(args, run)
    columns = ["case", "median_mib_s", "best_mib_s", "client_cpu_s_per_gib", "ratio"]
    emit(
        args.json,
        result,
        [("chordshare get vs plain transfers", markdown_table(result["rows"], columns))],
    )
    if not args.json:
        for line in result["skipped"]:
            print(f"\n{line}")
        print(f"\nload average at the end: {result['load_avg_end']}")


if __name__ == "__main__":
    main()
