"""Client commands: ask a running node over its REST API.

Each command takes ``--node URL`` (default ``$CHORDSHARE_NODE``, else http://127.0.0.1:8000)
and ``--json``, which prints the node's answer as JSON (the REST contract's models) instead of a
table. Any failure, an unreachable node included, is one line on stderr and exit status 1.

Commands that change the network (``put``, ``leave``) send the node's API token, found in this
order: ``--token``, ``$CHORDSHARE_API_TOKEN``, then the token of the node that ``chordshare node``
would start here with the same ``--config`` (default ``$CHORDSHARE_CONFIG``, else no file) and
environment: its ``api_token`` setting, else the file ``api_token`` in its data_dir (``data``
under the current directory by default). So the owner of a node runs them from where the node
runs, with nothing more.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, TypeVar

import typer

from chordshare.cli.report import RUNTIME_ERROR_STATUS, fail, json_errors
from chordshare.client.errors import AccessDenied
from chordshare.client.lazy import lazy_module
from chordshare.client.rest import NodeApi
from chordshare.errors import ChordshareError, PeerProtocolError, PeerTimeout, PeerUnavailable

if TYPE_CHECKING:
    from pydantic import BaseModel
    from rich.table import Table

    from chordshare.cli import render
else:  # rich and the tables are loaded only to print one, after the node has answered
    render = lazy_module("chordshare.cli.render")

DEFAULT_NODE = "http://127.0.0.1:8000"
TIMEOUT = 10.0
"""Seconds per request phase: a walk of a large ring is the slowest answer."""

M = TypeVar("M", bound="BaseModel")

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
    bool,
    typer.Option(
        "--json",
        help="Print the answer as JSON instead of a table, and a failure as one JSON object "
        'on stderr: {"error": ..., "detail": ...}.',
        callback=json_errors,
    ),
]

TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="CHORDSHARE_API_TOKEN",
        help="The node's API token. Default: the api_token of the node --config (or ./data) "
        "describes, else its data_dir/api_token file.",
        metavar="TOKEN",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="CHORDSHARE_CONFIG",
        dir_okay=False,
        metavar="FILE",
        help="The node's config file, to find its token when --token is not given.",
    ),
]

TOKEN_HINT = (
    "pass the node's API token with --token or CHORDSHARE_API_TOKEN, or run where the node runs "
    "(its --config FILE, else ./data/api_token)"
)

app = typer.Typer()


def owner_token(token: str | None, config: Path | None) -> str | None:
    """The token to send: ``token`` if given, else the one of the node ``config`` describes
    (its ``api_token``, else its token file); ``None`` when there is none."""
    if token:
        return token
    # Imported here: the read-only commands should not pay for the config model.
    from chordshare.errors import ConfigError
    from chordshare.service.api_token import read_token_file, token_path
    from chordshare.service.loading import load_config

    try:
        resolved = load_config(config)
        if resolved.api_token:
            return resolved.api_token
        path = token_path(resolved)
        return read_token_file(path) if path.exists() or path.is_symlink() else None
    except ConfigError as exc:
        fail(f"cannot read the API token: {exc}", RUNTIME_ERROR_STATUS)


@contextmanager
def connected(node: str, token: str | None = None) -> Iterator[NodeApi]:
    """A client of ``node`` sending ``token``; every chordshare error becomes a one-line exit."""
    try:
        with NodeApi(node, TIMEOUT, token=token) as api:
            yield api
    except AccessDenied as exc:
        reason = "no token found" if token is None and exc.status == 401 else str(exc)
        fail(f"the node refused: {reason}; {TOKEN_HINT}", RUNTIME_ERROR_STATUS, "AccessDenied")
    except ChordshareError as exc:
        fail(str(exc), RUNTIME_ERROR_STATUS, type(exc).__name__)


def show(answer: M, as_json: bool, table: Callable[[M], Table]) -> None:
    """Print ``answer`` as JSON, or as the rich table ``table`` makes of it."""
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
    else:
        from rich.console import Console

        Console().print(table(answer))


@app.command("ring")
def ring(
    node: NodeOption = DEFAULT_NODE,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(help="Most nodes to walk.", min=1)] = 1024,
) -> None:
    """Walk the ring along successors, starting at the node asked."""
    with connected(node) as api:
        show(api.ring(limit), as_json, lambda walk: render.ring_table(walk))


@app.command("lookup")
def lookup(
    key: Annotated[str, typer.Argument(help="The key (e.g. a file name) to find the owner of.")],
    node: NodeOption = DEFAULT_NODE,
    as_json: JsonOption = False,
    routed: Annotated[
        bool,
        typer.Option(
            "--routed",
            help="Route the key hop by hop even when the node answers it from an arc an "
            "earlier lookup confirmed (to see the path).",
        ),
    ] = False,
) -> None:
    """Which node owns KEY, and the hops the lookup took."""
    with connected(node) as api:
        answer = api.lookup(key, routed=routed)
        show(answer, as_json, lambda a: render.lookups_table([a], api.base_url))


@app.command("peers")
def peers(node: NodeOption = DEFAULT_NODE, as_json: JsonOption = False) -> None:
    """The peers the node knows (successors, fingers, predecessor)."""
    with connected(node) as api:
        show(api.peers(), as_json, lambda peers: render.peers_table(peers))


@app.command("leave")
def leave(
    node: NodeOption = DEFAULT_NODE,
    as_json: JsonOption = False,
    token: TokenOption = None,
    config: ConfigOption = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=0,
            metavar="SECONDS",
            help="How long to wait for the node to stop once it has begun leaving (handing its "
            "records and files over takes a while); 0: do not wait.",
        ),
    ] = 120.0,
) -> None:
    """Tell the node to leave the ring gracefully and exit (needs its API token), and wait until
    it has stopped."""
    with connected(node, owner_token(token, config)) as api:
        answer = api.leave()
        if not as_json:
            typer.echo(f"node {render.short(answer.id)} is leaving the ring")
        state = wait_stopped(api, timeout) if timeout > 0 else "leaving"
    if as_json:
        typer.echo(json.dumps({"id": answer.id, "status": state}))
    elif state == "stopped":
        typer.echo(f"node {render.short(answer.id)} left the ring and stopped")
    else:
        typer.echo(
            f"node {render.short(answer.id)} is still handing over"
            + (f" after {timeout:g} s" if timeout > 0 else "")
            + "; it exits when done"
        )


def wait_stopped(api: NodeApi, timeout: float) -> Literal["stopped", "leaving"]:
    """Poll ``/healthz`` until the node stops answering (``stopped``), at most ``timeout``
    seconds (then ``leaving``: it still answers, its hand-over not done)."""
    from chordshare.cli.node_process import wait_until

    def gone() -> bool | None:
        try:
            api.health()
        except (PeerUnavailable, PeerProtocolError, PeerTimeout):
            return True  # the port is closed, or closing under us
        return None

    try:
        wait_until(gone, timeout, "the node to stop")
    except TimeoutError:
        return "leaving"
    return "stopped"


@app.command("rescan")
def rescan(
    node: NodeOption = DEFAULT_NODE,
    as_json: JsonOption = False,
    token: TokenOption = None,
    config: ConfigOption = None,
) -> None:
    """Rescan the node's shared_dir now: publish new and changed files, withdraw removed ones
    (the node also does it when it sees a change). Needs its API token."""
    with connected(node, owner_token(token, config)) as api:
        answer = api.rescan()
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
        return
    for name in answer.published:
        typer.echo(f"published {name}")
    for name in answer.withdrawn:
        typer.echo(f"withdrew {name}")
    changes = len(answer.published) + len(answer.withdrawn)
    typer.echo(
        f"{'no changes; ' if not changes else ''}sharing {render.plural(answer.sharing, 'file')}"
    )


@app.command("info")
def info(node: NodeOption = DEFAULT_NODE, as_json: JsonOption = False) -> None:
    """The node's identity, predecessor, successor list and fingers."""
    with connected(node) as api:
        show(api.node(), as_json, lambda view: render.node_table(view))
