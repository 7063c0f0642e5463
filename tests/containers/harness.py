"""Node containers driven through the docker CLI: start, fault, observe.

Every node is a container of the chordshare image on one user-defined bridge network inside the
daemon's private address pool; the tests reach each node only through its REST port published
on 127.0.0.1. Faults: ``pause``/``unpause`` (SIGSTOP of a whole host), ``docker stop``, and
iptables rules inside a container's network namespace (``nsenter``) for partitions."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from chordshare.cli.node_process import NotYet, wait_until

T = TypeVar("T")


def docker(*args: str, check: bool = True, timeout: float = 180) -> str:
    done = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def logs(container: str) -> str:
    """A container's whole log: the node logs to stderr, announcements go to stdout."""
    done = subprocess.run(
        ["docker", "logs", container], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout + done.stderr


def wait_for(what: str, probe: Callable[[], T | None], deadline: float, every: float = 0.25) -> T:
    """Poll ``probe`` until it returns something other than None, through the project's one
    polling helper (:func:`chordshare.cli.node_process.wait_until`); an OS error (a container's
    port not yet published) or a failed HTTP exchange also counts as not yet, and a missed
    deadline fails the test."""

    def check() -> T | None:
        try:
            return probe()
        except (OSError, httpx.TransportError) as exc:
            raise NotYet(str(exc) or type(exc).__name__) from exc

    try:
        return wait_until(check, deadline, what, interval=every)
    except TimeoutError as exc:
        raise AssertionError(str(exc)) from None


@dataclass
class Node:
    name: str
    ip: str
    url: str

    def get(self, path: str) -> Any:
        reply = httpx.get(self.url + path, timeout=5)
        reply.raise_for_status()
        return reply.json()

    def ready(self) -> bool:
        return httpx.get(self.url + "/readyz", timeout=2).status_code == 200

    def pid(self) -> str:
        return docker("inspect", "-f", "{{.State.Pid}}", self.name)

    def exec(self, *args: str, timeout: float = 120) -> str:
        """Run a command inside the node's container (as the image's user) and return stdout."""
        return docker("exec", self.name, *args, timeout=timeout)

    def iptables(self, *args: str) -> None:
        subprocess.run(
            ["nsenter", "-t", self.pid(), "-n", "iptables", *args],
            check=True,
            capture_output=True,
            timeout=30,
        )


@dataclass
class Cluster:
    image: str
    network: str
    prefix: str
    nodes: list[Node]

    def start(
        self,
        name: str,
        seeds: list[str],
        env: dict[str, str] | None = None,
        extra: tuple[str, ...] = (),
    ) -> Node:
        """Start node container ``name`` seeded by ``seeds`` (REST URLs); ``env`` adds or
        overrides settings, ``extra`` is passed to ``docker run`` before the image."""
        full = f"{self.prefix}-{name}"
        settings = {"CHORDSHARE_SEEDS": ",".join(seeds), "CHORDSHARE_STABILIZE_INTERVAL": "0.5"}
        settings.update(env or {})
        docker(
            "run", "-d", "--init", "--name", full, "--hostname", full,
            "--network", self.network, "--cap-add", "NET_ADMIN",
            "-p", "127.0.0.1::8000",
            *[arg for key, value in settings.items() for arg in ("-e", f"{key}={value}")],
            *extra,
            self.image,
        )  # fmt: skip
        ip = docker(
            "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", full
        )
        port = docker("port", full, "8000/tcp").splitlines()[0].rsplit(":", 1)[1]
        node = Node(full, ip, f"http://127.0.0.1:{port}")
        self.nodes.append(node)
        return node

    def remove_all(self) -> None:
        names = [n.name for n in self.nodes]
        if names:
            docker("rm", "-f", "-v", *names, check=False)


def ring_ids(node: Node) -> tuple[bool, list[str]]:
    walk = node.get("/api/v1/ring")
    return bool(walk["closed"]), [peer["id"] for peer in walk["nodes"]]


def brute_force_owner(key_id: str, ids: list[str]) -> str:
    """The first node clockwise from the key: the least (id - key) mod 2^bits."""
    key = int(key_id, 16)
    size = 1 << (4 * len(key_id))
    return min(ids, key=lambda i: (int(i, 16) - key) % size)


def whole(node: Node, size: int) -> list[str] | None:
    """The ring's ids as ``node`` walks it, once the walk closes over exactly ``size`` nodes."""
    closed, ids = ring_ids(node)
    return ids if closed and len(ids) == size else None


def form_ring(cluster: Cluster, size: int, env: dict[str, str] | None = None) -> list[Node]:
    """Start ``size`` node containers, all seeded by the first, and wait until every one of them
    walks the same closed ring of ``size``; prints how long that took."""
    began = time.monotonic()
    first = cluster.start("n0", [], env)
    wait_for("first node ready", lambda: first.ready() or None, 60)
    seed = f"http://{first.ip}:8000"
    nodes = [first] + [cluster.start(f"n{i}", [seed], env) for i in range(1, size)]
    for node in nodes:
        wait_for(f"{node.name} ready", lambda n=node: n.ready() or None, 90)
    for node in nodes:
        wait_for(f"ring of {size} seen from {node.name}", lambda n=node: whole(n, size), 90)
    print(f"\nring of {size} containers formed in {time.monotonic() - began:.1f}s")
    return nodes
