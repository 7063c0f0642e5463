"""``chordshare demo``: a ring of real node processes on this machine, in well under a minute.

It writes one config file per node in a temporary directory, starts every node as its own
``chordshare node --config FILE`` process on its own loopback address (node i joins through
node i-1, so every node uses a different seed), waits until the ring is correct, shows it and a
few lookups with their hops, shows a file shared on the first node being found, uploaded to
more holders and downloaded from all of them, verified (:mod:`chordshare.cli.demo_files`), kills
one node with SIGKILL, shows the ring healing, then stops every node gracefully (SIGTERM: each
leaves the ring) and exits 0. Maintenance intervals are short (0.5 s) so that all of this
happens quickly.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from chordshare.cli import demo_files, render
from chordshare.cli.launcher import LocalCluster, NodeProcess
from chordshare.cli.node import RUNTIME_ERROR_STATUS, fail
from chordshare.client.rest import NodeApi
from chordshare.errors import ChordshareError
from chordshare.ring import IdSpace
from chordshare.ring.oracle import RingOracle

DEMO_BITS = 160
KEYS = ("holiday.jpg", "thesis.pdf", "song.mp3", "notes.txt", "dataset.csv", "movie.mkv")
START_TIMEOUT = 40.0
"""Seconds for every process to start and join: 8 interpreters importing gRPC, FastAPI and
pydantic share two cores, so most of this is start-up time."""
RING_TIMEOUT = 30.0
SUCCESSORS = 3
"""r for the demo: with r >= N every node would know the whole ring and answer in 0 hops."""


def settings(interval: float) -> dict[str, object]:
    return {
        "ring_bits": DEMO_BITS,
        # Shorter than the ring, so lookups route through fingers and show their hops.
        "successor_list_size": SUCCESSORS,
        "stabilize_interval": interval,
        "fix_fingers_interval": interval,
        "check_predecessor_interval": interval,
        "rpc_timeout": 1.0,
        "join_attempts": 20,
        "join_backoff": 0.2,
        "join_backoff_max": 1.0,
        "shutdown_grace": 1.0,
        "log_level": "INFO",
        **demo_files.SETTINGS,
    }


def run_demo(nodes: int, interval: float, console: Console, *, peer_tls: bool = False) -> None:
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="chordshare-demo-") as tmp:
        cluster = LocalCluster(Path(tmp), settings=settings(interval), peer_tls=peer_tls)
        if peer_tls:  # this process downloads over gRPC too: it needs a certificate of the CA
            os.environ.update(cluster.client_tls_env())
        try:
            _demo(cluster, nodes, console)
        except (TimeoutError, ChordshareError) as exc:
            console.print(f"[red]demo failed:[/] {exc}")
            console.print(f"node logs: {tmp}")
            cluster.close()
            raise typer.Exit(RUNTIME_ERROR_STATUS) from exc
        console.rule("Stopping every node gracefully (SIGTERM: each leaves the ring)")
        statuses = cluster.close()
        survivors = {name: s for name, s in statuses.items() if s != -9}
        bad = {name: s for name, s in survivors.items() if s != 0}
        if bad:
            fail(f"nodes did not exit cleanly: {bad}", RUNTIME_ERROR_STATUS)
        console.print(
            f"{len(survivors)} nodes left the ring and exited with status 0; "
            f"demo took {time.monotonic() - began:.1f} s."
        )


def _demo(cluster: LocalCluster, count: int, console: Console) -> None:
    console.rule(f"Starting {count} nodes, each in its own process")
    first = cluster.add()
    planted = demo_files.plant(cluster.workdir, first)
    cluster.launch(first)
    members = [first]
    for _ in range(count - 1):
        members.append(cluster.start([members[-1]]))
    for node in members:
        seeds = "(none: starts the ring)" if node is first else f"seed {_prev(members, node)}"
        console.print(f"  {node.name}  pid {node.pid:>7}  {node.url}  {seeds}")
    cluster.wait_ready(members, START_TIMEOUT)
    took = cluster.wait_ring(members, DEMO_BITS, RING_TIMEOUT)
    console.print(f"Every node is up; the ring converged {took:.1f} s later.")
    _show_ring(cluster, first, console, "The ring")
    _show_lookups(members, console)
    downloads = cluster.workdir / "downloads"
    downloads.mkdir()
    demo_files.show_files(members, planted, downloads, console, cluster.api_token)

    victim = members[len(members) // 2]
    console.rule(f"Crash: SIGKILL to {victim.name} (pid {victim.pid})")
    victim.kill()
    survivors = [n for n in members if n is not victim]
    took = cluster.wait_ring(survivors, DEMO_BITS, RING_TIMEOUT)
    console.print(f"The ring of {len(survivors)} was correct again {took:.1f} s after the crash.")
    _show_ring(cluster, survivors[0], console, "The ring after the crash")
    _show_lookups(survivors, console)


def _prev(members: list[NodeProcess], node: NodeProcess) -> str:
    return members[members.index(node) - 1].name


def _show_ring(cluster: LocalCluster, start: NodeProcess, console: Console, title: str) -> None:
    with NodeApi(start.url) as api:
        console.print(render.ring_table(api.ring(), title))


def _show_lookups(members: list[NodeProcess], console: Console) -> None:
    """Each key looked up from a different node, checked against the brute-force oracle."""
    rng = random.Random(7)
    ids = [n.node_id for n in members if n.node_id is not None]
    oracle = RingOracle(IdSpace(DEMO_BITS), ids)
    answers, origins = [], []
    for key in KEYS:
        node = rng.choice(members)
        origins.append(node.name)
        with NodeApi(node.url) as api:
            answer = api.lookup(key)
        if int(answer.owner.id, 16) != oracle.successor(int(answer.key_id, 16)):
            raise ChordshareError(f"lookup of {key!r} from {node.name} named a wrong owner")
        answers.append(answer)
    title = "random nodes (every owner matches the oracle)"
    console.print(render.lookups_table(answers, title, origins))


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        nodes: Annotated[int, typer.Option(min=2, max=64, help="Nodes to start.")] = 8,
        interval: Annotated[
            float,
            typer.Option(min=0.05, help="Maintenance interval of every node, in seconds."),
        ] = 0.5,
        peer_tls: Annotated[
            bool,
            typer.Option(
                "--peer-tls", help="Mutual TLS between the nodes (a CA made in the temp dir)."
            ),
        ] = False,
    ) -> None:
        """Start a local ring of node processes, look keys up, share a file and download it
        from several providers, crash a node, watch it heal."""
        run_demo(nodes, interval, Console(), peer_tls=peer_tls)
