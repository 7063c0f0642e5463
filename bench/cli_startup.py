"""Start-up of the CLI: time from spawning a client command to its first request reaching the
node, and to its exit, against bare interpreters measured in the same run.

    python bench/cli_startup.py [--runs 7] [--json]

One real node runs on loopback; every command talks to it through a TCP relay of this script,
which stamps the moment the command's first connection arrives (the first RPC, to within the
relay's accept). Subjects, each run ``--runs`` times in turn (median reported):

* ``python -c pass``: an interpreter that does nothing (exit time only);
* ``python + httpx GET``: an interpreter that imports httpx and sends one GET (the floor of any
  Python REST client);
* the floors of the pieces a client command is made of (exit time): ``import typer``,
  ``import httpx`` with and without the CLI module httpx imports when click, rich and pygments
  are installed (``httpx._main``, which the chordshare CLI turns off), a Typer app parsing one
  string option (Typer 0.29 checks option values with pydantic), and that app sending the GET
  with httpx (first RPC: the floor of a Typer + httpx client);
* ``chordshare info``, ``chordshare lookup KEY``, ``chordshare search WORD``, ``chordshare
  status``: the CLI itself.

Target: a client command reaches its first RPC within 0.15 s of the interpreter's start. With
``--importtime`` the slowest imports of ``chordshare info`` (``python -X importtime``,
cumulative) are listed too.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from benchlib import emit, markdown_table, median, progress, provenance, ratio, run_in_workdir

from chordshare.cli.launcher import LocalCluster

TARGET_S = 0.15
CHORDSHARE = [sys.executable, "-m", "chordshare.cli.main"]

NO_HTTPX_CLI = "import sys; sys.modules['httpx._main'] = None\n"
TYPER_APP = """
import typer
def main(node: str = typer.Option(...)) -> None:
    {body}
typer.run(main)
"""


class Relay:
    """A loopback TCP relay to ``target`` that stamps the first connection after each
    :meth:`arm` with ``time.perf_counter()``."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.first: float | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def arm(self) -> None:
        self.first = None

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.first is None:
                self.first = time.perf_counter()
            upstream = socket.create_connection(self.target, timeout=30)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._stop = True
        self.listener.close()


def timed(argv: list[str], relay: Relay, env: dict[str, str]) -> dict[str, float | None]:
    """Spawn ``argv``; seconds to its first connection at the relay (None if none) and to exit."""
    relay.arm()
    began = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, check=False)
    ended = time.perf_counter()
    if done.returncode != 0:
        raise RuntimeError(f"{argv[3:]} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    first = relay.first
    return {"first_rpc_s": None if first is None else first - began, "exit_s": ended - began}


def slowest_imports(url: str, env: dict[str, str], count: int) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *CHORDSHARE[1:], "info", "--node", url, "--json"],
        capture_output=True, text=True, timeout=60, env=env, check=True,
    )  # fmt: skip
    rows = []
    for line in done.stderr.splitlines():
        # "import time: <self us> | <cumulative us> | <two spaces per nesting level><module>"
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or "cumulative" in line:
            continue
        name = parts[2][1:]
        if not name.startswith(" "):  # top level: what the command's own imports cost
            rows.append({"module": name, "cumulative_ms": int(parts[1]) / 1000})
    return sorted(rows, key=lambda r: -r["cumulative_ms"])[:count]


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    (workdir / "ring").mkdir()
    cluster = LocalCluster(workdir / "ring")
    relay: Relay | None = None
    try:
        node = cluster.start()
        cluster.wait_ready([node], 60)
        relay = Relay((node.host, node.http_port))
        url = f"http://127.0.0.1:{relay.port}"
        env = {**os.environ, "COLUMNS": "120"}
        subjects: dict[str, list[str]] = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python + httpx GET": [
                sys.executable,
                "-c",
                "import sys, httpx; httpx.get(sys.argv[1] + '/healthz')",
                url,
            ],
            "python + import typer": [sys.executable, "-c", "import typer"],
            "python + import httpx": [sys.executable, "-c", "import httpx"],
            "python + import httpx, no httpx._main": [
                sys.executable,
                "-c",
                NO_HTTPX_CLI + "import httpx",
            ],
            "typer app, one str option": [
                sys.executable,
                "-c",
                TYPER_APP.format(body="pass"),
                "--node",
                url,
            ],
            "typer app + httpx GET, no httpx._main": [
                sys.executable,
                "-c",
                NO_HTTPX_CLI
                + "import httpx"
                + TYPER_APP.format(body="httpx.get(node + '/healthz')"),
                "--node",
                url,
            ],
            "chordshare info": [*CHORDSHARE, "info", "--node", url, "--json"],
            "chordshare lookup": [*CHORDSHARE, "lookup", "some-key", "--node", url, "--json"],
            "chordshare search": [*CHORDSHARE, "search", "word", "--node", url, "--json"],
            "chordshare status": [*CHORDSHARE, "status", "--node", url, "--json"],
        }
        samples: dict[str, list[dict[str, float | None]]] = {name: [] for name in subjects}
        timed(subjects["chordshare info"], relay, env)  # warm the page cache once
        for i in range(args.runs):
            progress(f"run {i + 1} of {args.runs}")
            for name, argv in subjects.items():
                samples[name].append(timed(argv, relay, env))
        imports = slowest_imports(url, env, 12) if args.importtime else []
    finally:
        if relay is not None:
            relay.close()
        cluster.close()
    floor = median([s["first_rpc_s"] or 0.0 for s in samples["python + httpx GET"]])
    rows = []
    for name, runs in samples.items():
        firsts = [s["first_rpc_s"] for s in runs if s["first_rpc_s"] is not None]
        first = median(firsts) if firsts else None
        is_cli = name.startswith("chordshare")
        rows.append({
            "command": name,
            "first_rpc_ms": None if first is None else first * 1000,
            "exit_ms": median([float(s["exit_s"] or 0.0) for s in runs]) * 1000,
            "target_ms": TARGET_S * 1000 if is_cli else None,
            "met": (first is not None and first <= TARGET_S) if is_cli else None,
            "vs_httpx_floor": ratio(first, floor) if first is not None else None,
        })  # fmt: skip
    return {"provenance": provenance(), "runs": args.runs, "rows": rows, "imports": imports}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of every subject (7)")
    parser.add_argument("--importtime", action="store_true", help="list the slowest imports")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the node's files here")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= 100:
        parser.error("--runs must be within 1..100")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = run_in_workdir(args, run)
    columns = ["command", "first_rpc_ms", "exit_ms", "target_ms", "met", "vs_httpx_floor"]
    tables = [
        (
            f"CLI start-up, median of {args.runs} runs (ms from spawn; first RPC = first "
            "connection reaching the node)",
            markdown_table(result["rows"], columns),
        )
    ]
    if result["imports"]:
        tables.append(
            (
                "Slowest top-level imports of chordshare info (python -X importtime)",
                markdown_table(result["imports"], ["module", "cumulative_ms"]),
            )
        )
    emit(args.json, result, tables)


if __name__ == "__main__":
    main()
