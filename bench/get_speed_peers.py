"""The other ends of ``bench/get_speed.py``'s baselines: child-process programs and configs.

Each program is a string run as ``python -c PROGRAM ARGS...``; the libtorrent ones under the
system ``python3`` (Debian's ``python3-libtorrent`` installs there, not into the venv).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

from benchlib import fmt

MIB = 1 << 20

RAW_SENDER = """
import os, socket, sys
path = sys.argv[1]
listener = socket.create_server(("127.0.0.1", 0))
print("port", listener.getsockname()[1], flush=True)
while True:
    conn, _ = listener.accept()
    with conn, open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        sent = 0
        while sent < size:
            sent += os.sendfile(conn.fileno(), f.fileno(), sent, size - sent)
"""
"""Serves the file at argv[1] whole to every connection, with sendfile (no copy through
Python); prints ``port N`` once listening. Stopped by PID."""

RAW_RECEIVER = """
import os, socket, sys
port, dest, hashing, size = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
hasher = None
if hashing:
    from blake3 import blake3
    hasher = blake3()
buffer = bytearray(1 << 20)
view = memoryview(buffer)
fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
got = 0
with socket.create_connection(("127.0.0.1", port)) as conn:
    while True:
        n = conn.recv_into(view)
        if not n:
            break
        if hasher is not None:
            hasher.update(view[:n])
        done = 0
        while done < n:
            done += os.write(fd, view[done:n])
        got += n
os.fsync(fd)
os.close(fd)
sys.exit(0 if got == size else f"received {got} of {size} bytes")
"""
"""argv: port, destination, ``blake3`` or empty, expected size. Receives into a reused 1 MiB
buffer, writes, fsyncs; exits non-zero on a short transfer."""

_LT_SETTINGS = """
import libtorrent as lt
SETTINGS = {
    "listen_interfaces": "127.0.0.1:0",
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
    "enable_outgoing_utp": False, "enable_incoming_utp": False,
    "allow_multiple_connections_per_ip": True,
    "alert_mask": lt.alert.category_t.error_notification,
}
"""

LIBTORRENT_SEED = (
    _LT_SETTINGS
    + """
import os, sys
path, work = sys.argv[1], sys.argv[2]
fs = lt.file_storage()
lt.add_files(fs, path)
torrent = lt.create_torrent(fs, 1 << 20)
lt.set_piece_hashes(torrent, os.path.dirname(path))
torrent_path = os.path.join(work, os.path.basename(path) + ".torrent")
with open(torrent_path, "wb") as f:
    f.write(lt.bencode(torrent.generate()))
session = lt.session(SETTINGS)
params = lt.add_torrent_params()
params.ti = lt.torrent_info(torrent_path)
params.save_path = os.path.dirname(path)
params.flags |= lt.torrent_flags.seed_mode
session.add_torrent(params)
print("seeding", session.listen_port(), flush=True)
while True:
    session.wait_for_alert(1000)
    session.pop_alerts()
"""
)
"""argv: the file, the work directory. Writes ``<work>/<name>.torrent`` (1 MiB pieces), seeds
the file without re-checking it, prints ``seeding PORT``. Stopped by PID."""

LIBTORRENT_GET = (
    _LT_SETTINGS
    + """
import os, sys, time
torrent_path, port, dest = sys.argv[1], int(sys.argv[2]), sys.argv[3]
session = lt.session(SETTINGS)
params = lt.add_torrent_params()
params.ti = lt.torrent_info(torrent_path)
params.save_path = os.path.dirname(dest)
handle = session.add_torrent(params)
handle.connect_peer(("127.0.0.1", port))
deadline = time.monotonic() + 600
while not handle.status().is_seeding:
    if time.monotonic() > deadline:
        sys.exit("libtorrent: not finished within 600 s")
    session.wait_for_alert(20)
    session.pop_alerts()
session.remove_torrent(handle)
fd = os.open(dest, os.O_RDONLY)
os.fsync(fd)
os.close(fd)
"""
)
"""argv: the .torrent, the seeder's port, the destination (named as in the torrent). Connects
to the seeder only, waits until every piece is verified (bounded), fsyncs the file."""


def libtorrent_python() -> str | None:
    """A ``python3`` (not this venv's) that imports libtorrent, or None."""
    for candidate in ("/usr/bin/python3", shutil.which("python3")):
        if candidate and os.path.exists(candidate):
            done = subprocess.run(
                [candidate, "-c", "import libtorrent"], capture_output=True, timeout=30
            )
            if done.returncode == 0:
                return candidate
    return None


def nginx_config(prefix: Path, root: Path, port: int) -> str:
    """nginx in the foreground, one process, serving ``root`` on 127.0.0.1:``port`` with
    sendfile; every path it writes (pid, logs, temp files) under ``prefix``."""
    temps = "\n".join(
        f"    {kind}_temp_path {prefix}/{kind}-temp;"
        for kind in ("client_body", "proxy", "fastcgi")
    )
    return f"""daemon off;
master_process off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
{temps}
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


# -- helpers of the run ---------------------------------------------------------------------


def warm(size: int, sources: list[Path]) -> None:
    """Page-cache the sources and fault in (then free) ``size`` bytes of fresh memory."""
    for source in sources:
        with source.open("rb") as f:
            while f.read(8 * MIB):
                pass
    block = bytearray(b"\1") * size
    del block


def sha256_of(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def make_file(path: Path, size: int, seed: bytes) -> None:
    """``size`` pseudo-random bytes (BLAKE3's XOF keyed by ``seed``: fast, distinct per seed)."""
    from blake3 import blake3

    xof = blake3(seed)
    with path.open("wb") as f:
        for offset in range(0, size, 8 * MIB):
            f.write(xof.digest(min(8 * MIB, size - offset), seek=offset))


def sbin(name: str) -> str | None:
    path = Path("/usr/sbin") / name
    return str(path) if path.exists() else None


def plot(rows: list[dict[str, Any]], path: Path, code: dict[str, Any], size_mib: int) -> str:
    """A horizontal bar chart of the medians (PNG at ``path``), or why there is none."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "no plot: it needs matplotlib (pip install 'chordshare[plot]')"
    names = [r["case"] for r in rows][::-1]
    rates = [r["median_mib_s"] for r in rows][::-1]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.2))
    bars = ax.barh(names, rates, color="#4c72b0")
    for bar, row in zip(bars, rows[::-1], strict=True):
        ax.text(
            bar.get_width(),
            bar.get_y() + bar.get_height() / 2,
            f" {fmt(row['ratio'])}",
            va="center",
        )
    ax.set_xlabel("MiB/s, median (label: ratio to raw TCP)")
    ax.set_title(
        f"{size_mib} MiB download on loopback, commit {code['repo_commit']}, "
        f"load {code['load_avg_1m']}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)
