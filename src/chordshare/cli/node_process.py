"""One node process of a :class:`chordshare.cli.launcher.LocalCluster`, and the polling every
wait on such processes goes through (a condition checked every :data:`POLL` seconds up to a
deadline, never a fixed sleep)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx

T = TypeVar("T")

POLL = 0.05
"""Seconds between two checks of a condition: short against the maintenance intervals (0.2 s
and up), long enough not to load two cores with HTTP requests."""


def wait_until(
    check: Callable[[], T | None], timeout: float, what: str, *, interval: float = POLL
) -> T:
    """Poll ``check`` until it returns something other than ``None`` (or raises nothing), at
    most ``timeout`` seconds. A check that raises counts as "not yet", and its error is the
    reason reported on timeout."""
    deadline = time.monotonic() + timeout
    reason = "never checked"
    while True:
        try:
            value = check()
        except (httpx.HTTPError, NotYet, ValueError, KeyError) as exc:
            reason = str(exc) or type(exc).__name__
        else:
            if value is not None:
                return value
            reason = "condition false"
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not reached within {timeout:.1f} s ({reason})")
        time.sleep(interval)


class NotYet(Exception):
    """Raised by a check to say why its condition does not hold yet."""


def node_command() -> list[str]:
    """``chordshare`` from the running interpreter's environment, else ``python -m``."""
    script = Path(sys.executable).parent / "chordshare"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "chordshare.cli.main"]


@dataclass
class NodeProcess:
    name: str
    host: str
    grpc_port: int
    http_port: int
    """The configured ports; one that is 0 there becomes the bound one once the node is ready
    (:meth:`LocalCluster.wait_ready` reads it from the ready line)."""
    config_path: Path
    out_path: Path
    log_path: Path
    seeds: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    node_id: int | None = None
    http_socket: socket.socket | None = None
    """The REST socket bound for the node, held until its process inherits it."""

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def kill(self) -> None:
        """SIGKILL, as a crash: no leave, no goodbye."""
        if self.alive:
            os.kill(self.pid, signal.SIGKILL)
            assert self.process is not None
            self.process.wait()

    def terminate(self) -> None:
        if self.alive:
            os.kill(self.pid, signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def output(self) -> str:
        return self.out_path.read_text(errors="replace") if self.out_path.exists() else ""

    def log_tail(self, lines: int = 15) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])
