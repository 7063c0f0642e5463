"""Helpers of the file-sharing end-to-end tests (no tests here): node settings with short
rescan intervals, the ``chordshare`` command as a separate process, random files, and waiting
for a record to be findable (polling with a deadline, never sleeping)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from chordshare.cli.launcher import LocalCluster, NodeProcess, NotYet, node_command, wait_until
from tests.conftest import FAST

MIB = 1 << 20
BITS = FAST["ring_bits"]

FILES: dict[str, Any] = {
    **FAST,
    "rescan_interval": 0.3,
    "republish_interval": 5.0,
    "provider_ttl": 60.0,
}
"""Node settings of these tests: the ring's short intervals, a shared directory rescanned every
0.3 s (a dropped file is published within about a second)."""

CLI_TIMEOUT = 120.0
"""Seconds one ``chordshare`` command may take: a 100 MiB get or put on two busy cores is
seconds; this only stops a hung command from hanging the run."""


def shared_dir(cluster: LocalCluster, node: NodeProcess) -> Path:
    path = cluster.workdir / node.name / "shared"
    path.mkdir(parents=True, exist_ok=True)
    return path


def random_bytes_file(path: Path, size: int, seed: int) -> str:
    """Write ``size`` random bytes (reproducible from ``seed``) to ``path``; their SHA-256."""
    rng = random.Random(seed)
    digest = hashlib.sha256()
    with path.open("wb") as f:
        left = size
        while left:
            block = rng.randbytes(min(left, 8 * MIB))
            digest.update(block)
            f.write(block)
            left -= len(block)
    return digest.hexdigest()


def drop_file(cluster: LocalCluster, node: NodeProcess, name: str, size: int, seed: int) -> str:
    """Write a file next to the node's shared directory, then rename it in (a drop: the
    scanner never sees it half written); its SHA-256."""
    staging = cluster.workdir / "staging"
    staging.mkdir(exist_ok=True)
    digest = random_bytes_file(staging / name, size, seed)
    os.replace(staging / name, shared_dir(cluster, node) / name)
    return digest


def sha256_of(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def cli_env(token: str | None = None) -> dict[str, str]:
    """The environment of a CLI process: none of ours, wide columns, the nodes' API ``token``
    (as their owner would pass it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHORDSHARE_")}
    env["COLUMNS"] = "200"
    if token is not None:
        env["CHORDSHARE_API_TOKEN"] = token
    return env


@dataclass
class Ran:
    status: int
    out: str
    err: str
    seconds: float

    def json(self) -> Any:
        assert self.status == 0, f"status {self.status}: {self.err}"
        return json.loads(self.out)


def chordshare(cluster: LocalCluster, *args: str, timeout: float = CLI_TIMEOUT) -> Ran:
    """Run ``chordshare ARGS`` as its own process in the cluster's work directory."""
    began = time.monotonic()
    done = subprocess.run(
        [*node_command(), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cluster.workdir,
        env=cli_env(cluster.api_token),
        stdin=subprocess.DEVNULL,
    )
    return Ran(done.returncode, done.stdout, done.stderr, time.monotonic() - began)


def _default_sigint() -> None:
    # pytest-xdist workers ignore SIGINT and children inherit that; Python then installs no
    # KeyboardInterrupt handler, so a test's Ctrl-C would never reach the command.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn(cluster: LocalCluster, *args: str, log: Path) -> subprocess.Popen[bytes]:
    """Start ``chordshare ARGS`` in the background (its own session: signals reach only it),
    with SIGINT at its default disposition, as a terminal's foreground command has it."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [*node_command(), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cluster.workdir,
            env=cli_env(cluster.api_token),
            start_new_session=True,
            preexec_fn=_default_sigint,
        )


def record(cluster: LocalCluster, node: NodeProcess, name: str) -> dict[str, Any] | None:
    """``GET /api/v1/network/files/{name}`` on ``node``: the name's first record (the one with
    most live providers), or None on 404."""
    answer = cluster.http.get(f"{node.url}/api/v1/network/files/{quote(name, safe='')}")
    if answer.status_code == 404:
        return None
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()["records"][0]
    return body


def wait_found(
    cluster: LocalCluster,
    node: NodeProcess,
    name: str,
    timeout: float = 30.0,
    *,
    providers: int = 1,
) -> dict[str, Any]:
    """Poll until ``node`` finds the record of ``name`` with at least ``providers`` live
    providers; the record."""

    def check() -> dict[str, Any]:
        found = record(cluster, node, name)
        if found is None:
            raise NotYet(f"{name} not found from {node.name}")
        if len(found["providers"]) < providers:
            raise NotYet(f"{name}: {len(found['providers'])} providers")
        return found

    return wait_until(check, timeout, f"{name} findable from {node.name}")


def node_of(nodes: list[NodeProcess], grpc_address: str) -> NodeProcess:
    for node in nodes:
        if f"{node.host}:{node.grpc_port}" == grpc_address:
            return node
    raise KeyError(grpc_address)


def holders_of(put_answer: dict[str, Any]) -> list[str]:
    """gRPC addresses of the holders a ``put --json`` answer names."""
    return [h["grpc_address"] for h in put_answer["holders"]]


def stray_files(workdir: Path, nodes: list[NodeProcess], own: set[str]) -> list[str]:
    """Files under ``workdir`` that are neither inside a node's directory nor one of the
    cluster's own files (configs, logs) nor under a top-level directory in ``own``."""
    names = {n.name for n in nodes}
    stray = []
    for path in workdir.rglob("*"):
        top = path.relative_to(workdir).parts[0]
        if top in names or top in own or path.is_dir():
            continue
        if path.parent == workdir and path.stem in names:
            continue  # nodeXX.toml / .json / .out / .log
        stray.append(str(path.relative_to(workdir)))
    return stray
