"""Client commands: ask a running node over its REST API.

Each command takes ``--node URL`` (default ``$CHORDSHARE_NODE``, else http://127.0.0.1:8000)
and ``--json``, which prints the node's answer as JSON (the REST contract's models) instead of a
table. Any failure, an unreachable node included, is one line on stderr and exit status 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from chordshare.cli import render
from chordshare.cli.node import RUNTIME_ERROR_STATUS, fail
from chordshare.client.rest import NodeApi
from chordshare.errors import ChordshareError

DEFAULT_NODE = "http://127.0.0.1:8000"
TIMEOUT = 10.0
"""Seconds per request phase: a walk of a large ring is the slowest answer."""

M = TypeVar("M", bound=BaseModel)

NodeOption = Annotated[
    str,
    typer.Option(
        "--node",
        "-n",
        envvar="CHORDSHARE_NODE",
        help="REST URL of any node of the ring.",
        metavar="URL",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the answer as JSON instead of a table.")
]

app = typer.Typer()


@contextmanager
def connected(node: str) -> Iterator[NodeApi]:
    """A client of ``node``; every chordshare error becomes a one-line exit."""
    try:
        with NodeApi(node, TIMEOUT) as api:
            yield api
    except ChordshareError as exc:
        fail(str(exc), RUNTIME_ERROR_STATUS)


def show(answer: M, as_json: bool, table: Callable[[M], Table]) -> None:
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
    else:
        Console().print(table(answer))


@app.command("ring")
def ring(
    node: NodeOption = DEFAULT_NODE,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(help="Most nodes to walk.", min=1)] = 1024,
) -> None:
    """Walk the ring along successors, starting at the node asked."""
    with connected(node) as api:
        show(api.ring(limit), as_json, render.ring_table)


@app.command("lookup")
def lookup(
    key: Annotated[str, typer.Argument(help="The key (e.g. a file name) to find the owner of.")],
    node: NodeOption = DEFAULT_NODE,
    as_json: JsonOption = False,
) -> None:
    """Which node owns KEY, and the hops the lookup took."""
    with connected(node) as api:
        show(api.lookup(key), as_json, lambda a: render.lookups_table([a], api.base_url))


@app.command("peers")
def peers(node: NodeOption = DEFAULT_NODE, as_json: JsonOption = False) -> None:
    """The peers the node knows (successors, fingers, predecessor)."""
    with connected(node) as api:
        show(api.peers(), as_json, render.peers_table)


@app.command("info")
def info(node: NodeOption = DEFAULT_NODE, as_json: JsonOption = False) -> None:
    """The node's identity, predecessor, successor list and fingers."""
    with connected(node) as api:
        show(api.node(), as_json, render.node_table)
