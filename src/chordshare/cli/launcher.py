"""Run real nodes as separate processes on loopback: the demo and the end-to-end tests use it.

Each node gets its own config file (TOML) in a work directory, its own loopback address
(127.0.0.2, 127.0.0.3, ...: no setup needed on Linux, and a log line names the node at once)
and runs ``chordshare node --config FILE``. The cluster only ever signals the PIDs it started
itself, and :meth:`LocalCluster.close` stops every one of them (SIGTERM, then SIGKILL after a
grace period).

Ports: a node's REST URL is what other nodes list as a seed, so it must be known before the
node runs (nodes start together, seeds listing each other). The cluster binds a port for each
node (port 0: the kernel picks a free one) and keeps the socket, which the node process inherits
and listens on (``--http-fd``): the port is never free for anyone else in between. The gRPC
port is 0 in the config; the node reports the port it bound in its ready line, which
:meth:`LocalCluster.wait_ready` reads.

With ``peer_tls`` the cluster makes a CA in the work directory and a certificate for each node,
which must name the node's gRPC address: the port is then picked when the node is added
(:func:`fixed_port`: below the kernel's ephemeral range, so no other process is handed it in
between), and the node binds it on its own loopback address when it starts.

Waiting is on conditions, never a fixed sleep: :func:`wait_until` checks a condition every
:data:`~chordshare.cli.node_process.POLL` seconds (the only pause) up to a deadline, and
reports the last reason it was not yet true.
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from chordshare.cli.node_process import NodeProcess, NotYet, node_command, wait_until
from chordshare.errors import NodeFailed
from chordshare.ring import IdSpace
from chordshare.ring.oracle import RingOracle
from chordshare.service import certs
from chordshare.service.sockets import reserve_port

__all__ = ["LocalCluster", "NodeProcess", "NotYet", "fixed_port", "node_command", "wait_until"]
"""The process and polling helpers live in :mod:`chordshare.cli.node_process`; the tests, the
demo and the benchmarks take them from here with the cluster."""

READY_LINE = re.compile(r" ready grpc=\S+:(?P<grpc_port>\d+) http=\S+:(?P<http_port>\d+) ")
"""What the node prints on stdout once it has joined (see ``NodeService``), with the ports it
serves on."""

FIXED_PORT_FLOOR = 20000
"""Ports picked in advance (:func:`fixed_port`) are at or above this one, clear of the well
known and registered services most often run on a machine."""

LOOPBACK_FIRST = 2
"""127.0.0.1 is left to everything else on the machine; nodes start at 127.0.0.2."""


@dataclass
class LocalCluster:
    """Nodes in separate processes under ``workdir``, all on loopback."""

    workdir: Path
    settings: dict[str, Any] = field(default_factory=dict)
    """Config values every node gets (intervals, ring_bits...)."""
    first_address: int = LOOPBACK_FIRST
    nodes: list[NodeProcess] = field(default_factory=list)
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=5.0))
    """Sends :attr:`api_token` to the nodes (uploads and leave need it)."""
    api_token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    """The REST API token every node of the cluster is configured with, unless ``settings``
    or a node's overrides give another."""
    peer_tls: bool = False
    """Run mutual TLS between the nodes: a CA under ``workdir/pki`` and a certificate per node."""

    def __post_init__(self) -> None:
        self.http.headers.setdefault("Authorization", f"Bearer {self.api_token}")
        if self.peer_tls:
            certs.init_ca(self.pki, force=True)

    @property
    def pki(self) -> Path:
        """Where the cluster's CA and node certificates are (with ``peer_tls``)."""
        return self.workdir / "pki"

    def client_tls_env(self) -> dict[str, str]:
        """Environment variables giving a command-line client (``chordshare get``, which
        downloads over gRPC) a certificate of the cluster's CA (with ``peer_tls``)."""
        files = certs.issue_node(self.pki, "127.0.0.1:1", self.pki, name="client", force=True)
        return {
            "CHORDSHARE_PEER_TLS_CA": str(self.pki / certs.CA_CERT),
            "CHORDSHARE_PEER_TLS_CERT": str(files.cert),
            "CHORDSHARE_PEER_TLS_KEY": str(files.key),
        }

    def _tls_values(self, name: str, host: str, overrides: dict[str, Any]) -> dict[str, Any]:
        """The gRPC port and TLS files of a new node of a TLS cluster."""
        port = overrides.get("grpc_port") or fixed_port(host)
        files = certs.issue_node(self.pki, f"{host}:{port}", self.pki, name=name, force=True)
        return {
            "grpc_port": port,
            "peer_tls_ca": str(self.pki / certs.CA_CERT),
            "peer_tls_cert": str(files.cert),
            "peer_tls_key": str(files.key),
        }

    # -- starting --------------------------------------------------------------------------

    def add(
        self, seeds: Iterable[NodeProcess | str] = (), *, fmt: str = "toml", **overrides: Any
    ) -> NodeProcess:
        """Write a config for a new node (next loopback address; its REST port bound and held
        for it unless ``http_port`` is given, gRPC port 0 unless ``grpc_port`` is); not
        started."""
        index = len(self.nodes)
        host = str(
            overrides.get(
                "listen_host", f"127.0.0.{self.first_address + index % (255 - self.first_address)}"
            )
        )
        name = f"node{index:02d}"
        http_socket = None if "http_port" in overrides else reserve_port(host, "http")
        values: dict[str, Any] = {
            "listen_host": host,
            "grpc_port": 0,
            "http_port": http_socket.getsockname()[1] if http_socket else 0,
            "seeds": [s.url if isinstance(s, NodeProcess) else s for s in seeds],
            "shared_dir": f"{name}/shared",
            "create_shared_dir": True,  # a fresh work directory: nothing to mistype
            "data_dir": f"{name}/data",
            "api_token": self.api_token,
            **(self._tls_values(name, host, overrides) if self.peer_tls else {}),
            **self.settings,
            **overrides,
        }
        path = self.workdir / f"{name}.{fmt}"
        path.write_text(dumps(values, fmt))
        node = NodeProcess(
            name,
            host,
            int(values["grpc_port"]),
            int(values["http_port"]),
            path,
            self.workdir / f"{name}.out",
            self.workdir / f"{name}.log",
            list(values["seeds"]),
            http_socket=http_socket,
        )
        self.nodes.append(node)
        return node

    def launch(self, node: NodeProcess, *extra_args: str) -> NodeProcess:
        """Start ``chordshare node --config FILE`` for ``node`` (returns at once)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHORDSHARE_")}
        env["PYTHONUNBUFFERED"] = "1"
        # The held REST socket goes to the process (a relaunch binds its configured port).
        held = node.http_socket
        inherit = [] if held is None else ["--http-fd", str(held.fileno())]
        with node.out_path.open("wb") as out, node.log_path.open("wb") as log:
            node.process = subprocess.Popen(
                [*node_command(), "node", "--config", str(node.config_path), *inherit, *extra_args],
                stdout=out,
                stderr=log,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.workdir,
                pass_fds=() if held is None else (held.fileno(),),
                start_new_session=True,  # a Ctrl-C at the terminal is for us, not for them
            )
        if held is not None:
            held.close()  # the process has its own descriptor of the same socket
            node.http_socket = None
        return node

    def start(self, seeds: Iterable[NodeProcess | str] = (), **overrides: Any) -> NodeProcess:
        return self.launch(self.add(seeds, **overrides))

    def wait_ready(self, nodes: Iterable[NodeProcess], timeout: float) -> None:
        """Until every node has printed its ready line and answers ``/healthz``."""
        pending = list(nodes)

        def check() -> bool | None:
            for node in list(pending):
                if not node.alive:
                    raise NodeFailed(
                        f"{node.name} exited with status {node.returncode} before it was "
                        f"ready:\n{node.log_tail()}"
                    )
                ready = READY_LINE.search(node.output())
                if ready is None:
                    raise NotYet(f"{node.name} not ready yet")
                node.grpc_port = int(ready["grpc_port"])
                node.http_port = int(ready["http_port"])
                health = self.http.get(node.url + "/healthz").json()
                node.node_id = int(health["id"], 16)
                pending.remove(node)
            return True

        wait_until(check, timeout, "nodes ready")

    # -- observing -------------------------------------------------------------------------

    def live(self) -> list[NodeProcess]:
        return [n for n in self.nodes if n.alive]

    def view(self, node: NodeProcess) -> dict[str, Any]:
        body: dict[str, Any] = self.http.get(node.url + "/api/v1/node").raise_for_status().json()
        return body

    def ring_problems(
        self, nodes: Iterable[NodeProcess], bits: int, *, full: bool = True
    ) -> list[str]:
        """Why ``nodes`` do not (yet) form one correct ring: each must name its true
        predecessor and successor, and a walk from the first must visit all of them in id
        order. ``full`` also asks for every successor list to be exactly the next r nodes
        (what lookups need to agree with the oracle: routing resolves keys from the list)."""
        members = list(nodes)
        views = {}
        for node in members:
            view = self.view(node)
            node.node_id = int(view["id"], 16)
            views[node.node_id] = view
        space = IdSpace(bits)
        oracle = RingOracle(space, views)
        problems = []
        for ident, view in views.items():
            name = space.short(ident)
            have = [int(p["id"], 16) for p in view["successors"]]
            want = oracle.successors(ident, int(view["successor_list_size"]))
            if have[:1] != want[:1]:
                problems.append(f"{name}: wrong successor")
            elif full and have != want:
                problems.append(f"{name}: successor list differs from the true next nodes")
            pred = int(view["predecessor"]["id"], 16) if view["predecessor"] else None
            if pred != (oracle.predecessor(ident) if len(oracle) > 1 else None):
                problems.append(f"{name}: wrong predecessor")
        if not problems:
            start = members[0]
            walk = self.http.get(start.url + "/api/v1/ring").raise_for_status().json()
            walked = [int(p["id"], 16) for p in walk["nodes"]]
            i = oracle.ids.index(walked[0])
            if not walk["closed"] or walked != oracle.ids[i:] + oracle.ids[:i]:
                problems.append(f"walk from {start.name}: {walk['stopped']}, {len(walked)} nodes")
        return problems

    def wait_ring(
        self, nodes: Iterable[NodeProcess], bits: int, timeout: float, *, full: bool = True
    ) -> float:
        """Wait until ``nodes`` form a correct ring (see :meth:`ring_problems`); returns the
        seconds it took."""
        members = list(nodes)
        began = time.monotonic()

        def check() -> bool | None:
            dead = [n.name for n in members if not n.alive]
            if dead:
                raise NodeFailed(f"nodes exited: {', '.join(dead)}")
            problems = self.ring_problems(members, bits, full=full)
            if problems:
                raise NotYet(f"{len(problems)} problems, e.g. {problems[0]}")
            return True

        wait_until(check, timeout, f"ring of {len(members)} nodes")
        return time.monotonic() - began

    # -- stopping --------------------------------------------------------------------------

    def close(self, grace: float = 10.0) -> dict[str, int]:
        """SIGTERM every node still running (a graceful leave), SIGKILL any that outlasts
        ``grace``; returns each node's exit status."""
        for node in self.nodes:
            node.terminate()
            if node.http_socket is not None:  # added, never launched
                node.http_socket.close()
                node.http_socket = None
        deadline = time.monotonic() + grace
        statuses = {}
        for node in self.nodes:
            if node.process is None:
                continue
            try:
                statuses[node.name] = node.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                node.kill()
                statuses[node.name] = node.wait(1.0)
        self.http.close()
        return statuses

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def fixed_port(host: str, rng: random.Random | None = None) -> int:
    """A port free on ``host`` now, for a node that must bind a port known in advance (one
    named in its certificate, or kept across restarts). It is taken below the kernel's
    ephemeral range, which the kernel never hands out by itself: a port picked inside it and
    released could be given to another process's ``bind(0)`` before the node binds it."""
    pick = rng or random.SystemRandom()
    low = _ephemeral_low()
    for _ in range(200):
        port = pick.randrange(FIXED_PORT_FLOOR, low)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind((host, port))
        except OSError:
            continue
        return port
    raise NodeFailed(f"no free port on {host} between {FIXED_PORT_FLOOR} and {low}")


def _ephemeral_low() -> int:
    """The lowest port of the kernel's ephemeral range (Linux; its default elsewhere)."""
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        return max(FIXED_PORT_FLOOR + 100, int(text.split()[0]))
    except (OSError, ValueError, IndexError):
        return 32768


def dumps(values: dict[str, Any], fmt: str) -> str:
    """A flat config as TOML or JSON (the standard library writes no TOML; flat values of
    strings, numbers and lists of strings are all a node config needs)."""
    if fmt == "json":
        return json.dumps(values, indent=2)
    return "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())
