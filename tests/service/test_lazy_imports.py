"""What a running node keeps out of its memory: the imports the composition root defers.

An idle node's memory is mostly the modules it imported (``bench/node_footprint.py
--imports`` ranks them), so what a plaintext node does not use is imported where it is first
needed, not with the service. A fresh interpreter starts a node the way ``chordshare node``
does (the command's modules, then :class:`NodeService` on loopback, no seeds, no TLS) and
lists its modules once the node is ready; a module-level import of any of these anywhere on
the node's path fails the test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DEFERRED = {
    "chordshare.service.certs": "TLS material, read only when peer_tls is on",
    "swagger_ui_bundle": "the /docs assets, served from it on the first request",
    "httpx": "the REST client, imported by the first seed discovery",
    "chordshare.client.rest": "the REST client, imported by the first seed discovery",
    "chordshare.cli.launcher": "the local-cluster launcher (tests, demo, benchmarks)",
    "chordshare.sim": "the simulator",
    "matplotlib": "the simulator's plots",
    "kademlia": "a benchmark's baseline",
    "pygments": "httpx's own command-line tool",
    "cryptography": "the x509 bindings, only with peer TLS",
}
"""Module -> why a node without seeds or TLS has no use for it."""

EXPECTED = ("grpc", "fastapi", "uvicorn", "chordshare.service.node_service")
"""Imported by every node: the check below sees the node's real modules."""

CHILD = """
import asyncio, json, sys
import chordshare.cli.main, chordshare.cli.node  # as `chordshare node` starts
from chordshare.service.loading import load_config
from chordshare.service.node_service import NodeService

work = sys.argv[1]
config = load_config(None, {
    "listen_host": "127.0.0.1", "grpc_port": "0", "http_port": "0",
    "shared_dir": work + "/shared", "data_dir": work + "/data", "create_shared_dir": True,
})

async def main():
    service = NodeService(config, announce=lambda line: None)
    run = asyncio.create_task(service.run())
    await asyncio.wait_for(service.ready.wait(), 60)
    loaded = sorted(name for name, module in sys.modules.items() if module is not None)
    service.request_stop()
    await asyncio.wait_for(run, 60)
    print(json.dumps(loaded))

asyncio.run(main())
"""


def test_a_ready_node_has_not_imported_what_it_does_not_use(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert set(EXPECTED) <= loaded
    imported = {
        name: why
        for name, why in DEFERRED.items()
        if any(m == name or m.startswith(name + ".") for m in loaded)
    }
    assert imported == {}, f"a ready node imported modules it should not: {imported}"
