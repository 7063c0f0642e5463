"""A client command imports only what it uses before its first request: no gRPC, server,
simulator or terminal UI, and not the API's pydantic models (loaded once the answer is in).

Each case runs the real CLI in a subprocess whose ``socket.create_connection`` (what httpx's
transport connects with) records the modules loaded at that moment and exits: the command
never reaches the network. This pins the structure that makes start-up fast; the time itself
is measured by ``bench/cli_startup.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from chordshare.api.schemas.search import MAX_SEARCH_PAGE, SEARCH_PATH
from chordshare.cli import files
from chordshare.cli.lazy_group import _commands
from chordshare.cli.main import COMMANDS
from chordshare.client import files as client_files

AT_FIRST_CONNECTION = """
import json, runpy, socket, sys, types

def first_connection(*args, **kwargs):
    loaded = [name for name, m in sys.modules.items() if type(m) is types.ModuleType]
    print(json.dumps(loaded))  # a module LazyLoader has not executed yet is not a ModuleType
    sys.stdout.flush()
    raise SystemExit(0)

socket.create_connection = first_connection
sys.argv = ["chordshare", *sys.argv[1:]]
runpy.run_module("chordshare.cli.main", run_name="__main__")
"""

NEVER = [
    "grpc",
    "fastapi",
    "starlette",
    "uvicorn",
    "cryptography",
    "chordshare.transport.grpc",
    "chordshare.sim",
    "chordshare.service",
    "chordshare.node",
    "httpx._main",  # httpx's own CLI (click, rich, pygments)
    "pygments",
]
"""Packages no client command needs before its first request."""

NOT_YET = [
    "rich",
    *(f"chordshare.api.schemas.{m}" for m in ["events", "files", "ops", "ring", "search"]),
    "chordshare.cli.render",
]
"""Needed only to read or print the answer, so loaded after the request is sent (the package
``chordshare.api.schemas`` itself is empty)."""

URL = "http://127.0.0.1:9"  # never connected to: the hook exits first


def loaded_at_first_connection(*argv: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", AT_FIRST_CONNECTION, *argv],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout, done.stderr[-2000:]  # the command reached its first request
    return set(json.loads(done.stdout))


def under(loaded: set[str], package: str) -> list[str]:
    return sorted(m for m in loaded if m == package or m.startswith(package + "."))


@pytest.mark.parametrize(
    "command",
    [
        ["info"],
        ["lookup", "some-key"],
        ["ring"],
        ["peers"],
        ["search", "word"],
        ["status"],
        ["transfers"],
    ],
    ids=lambda argv: argv[0],
)
def test_a_client_command_imports_only_what_it_uses_before_its_first_request(
    command: list[str],
) -> None:
    loaded = loaded_at_first_connection(*command, "--node", URL, "--json")
    assert "httpx" in loaded  # the hook did run at the request
    for package in [*NEVER, *NOT_YET]:
        assert under(loaded, package) == [], f"{package} loaded before the request"


@pytest.mark.parametrize("command", [["get", "a.bin"], ["show", "a.bin"], ["ls"]])
def test_file_commands_import_no_grpc_server_or_simulator_before_their_first_request(
    command: list[str],
) -> None:
    # get fetches the pieces over gRPC, but only after this request has located them
    loaded = loaded_at_first_connection(*command, "--node", URL, "--json")
    assert "httpx" in loaded
    for package in [*NEVER[:-4], "httpx._main", "pygments", "rich"]:
        assert under(loaded, package) == [], f"{package} loaded before the request"


def test_every_command_is_defined_where_the_table_says() -> None:
    for spec in set(COMMANDS.values()):
        named = {name for name, where in COMMANDS.items() if where == spec}
        assert set(_commands(spec)) == named, spec


def test_the_client_spells_the_search_route_and_page_as_the_api_does() -> None:
    assert client_files.SEARCH_PATH == SEARCH_PATH
    assert files.MAX_SEARCH_PAGE == MAX_SEARCH_PAGE


def test_the_download_path_loads_no_ring_algorithms() -> None:
    # get reads the record's schema (which names why a ring walk stops) and runs the transfer
    # code; neither needs the Chord node, its lookups or its maintenance
    probe = (
        "import json, sys; import chordshare.api.schemas.files, chordshare.api.schemas.ring, "
        "chordshare.client.download; print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = set(json.loads(done.stdout))
    assert "chordshare.node.transfer.download" in loaded
    for package in ["chordshare.node.ring.chord", "chordshare.node.ring.lookup", "grpc"]:
        assert under(loaded, package) == [], f"{package} loaded by the download path"
