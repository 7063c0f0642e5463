"""``chordshare status``, ``chordshare transfers`` and ``chordshare events``: what a running node
is doing, from its REST API (``/api/v1/status``, ``/api/v1/transfers``, ``/api/v1/events``).

Like the other client commands they take ``--node URL`` (default ``$CHORDSHARE_NODE``, else
http://127.0.0.1:8000) and ``--json``; a failure is one line on stderr and exit status 1.
``--token`` is needed only by a node with ``closed_reads``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from chordshare.cli.client import DEFAULT_NODE, TIMEOUT, JsonOption, NodeOption
from chordshare.cli.report import RUNTIME_ERROR_STATUS, fail, json_errors
from chordshare.cli.terminal import console
from chordshare.client.errors import AccessDenied
from chordshare.client.events import NodeWatch
from chordshare.client.lazy import lazy_module
from chordshare.errors import ChordshareError

if TYPE_CHECKING:
    from chordshare.cli import watch_render
else:  # rich and the tables are loaded only to print one, after the node has answered
    watch_render = lazy_module("chordshare.cli.watch_render")

app = typer.Typer()

ReadTokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="CHORDSHARE_API_TOKEN",
        help="The node's API token (only a node with closed_reads asks for it).",
        metavar="TOKEN",
        show_default=False,
    ),
]


@contextmanager
def watching(node: str, token: str | None) -> Iterator[NodeWatch]:
    """A client of ``node``; every chordshare error becomes a one-line exit, Ctrl-C a quiet
    one (status 0: stopping to watch is what Ctrl-C is for here)."""
    try:
        with NodeWatch(node, TIMEOUT, token=token) as watch:
            yield watch
    except AccessDenied as exc:
        fail(f"the node refused: {exc}; pass --token", RUNTIME_ERROR_STATUS, "AccessDenied")
    except ChordshareError as exc:
        fail(str(exc), RUNTIME_ERROR_STATUS, type(exc).__name__)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


@app.command("status")
def status(
    node: NodeOption = DEFAULT_NODE, as_json: JsonOption = False, token: ReadTokenOption = None
) -> None:
    """The node at a glance: ring size estimate, its key range, records and bytes held (pinned,
    cached), transfers running, gRPC calls and errors, and what needs a look."""
    with watching(node, token) as watch:
        answer = watch.status()
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
    else:
        console().print(watch_render.status_screen(answer))


@app.command("transfers")
def transfers(
    node: NodeOption = DEFAULT_NODE,
    as_json: JsonOption = False,
    once: Annotated[bool, typer.Option("--once", help="Print the table once and exit.")] = False,
    interval: Annotated[
        float, typer.Option(help="Seconds between refreshes of the live table.", min=0.2)
    ] = 1.0,
    token: ReadTokenOption = None,
) -> None:
    """The node's transfers (downloads for REST readers, uploads received, streams served,
    repair copies): a live table until Ctrl-C, or once with --once (--json implies it)."""
    with watching(node, token) as watch:
        if as_json or once:
            answer = watch.transfers()
            if as_json:
                typer.echo(answer.model_dump_json(indent=2))
            else:
                console().print(watch_render.transfers_table(answer.transfers))
            return
        from rich.live import Live  # only the live table needs it

        title = f"Transfers of {watch.base_url}"
        with Live(auto_refresh=False) as live:
            while True:
                table = watch_render.transfers_table(watch.transfers().transfers, title)
                live.update(table, refresh=True)
                watch.sleep(interval)


@app.command("events")
def events(
    node: NodeOption = DEFAULT_NODE,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print each event as one JSON line, and a failure as one JSON object on "
            'stderr: {"error": ..., "detail": ...}.',
            callback=json_errors,
        ),
    ] = False,
    count: Annotated[
        int | None, typer.Option("--count", help="Exit after N events.", min=1, metavar="N")
    ] = None,
    since: Annotated[
        int | None,
        typer.Option(help="First replay the events the node still keeps after this one.", min=0),
    ] = None,
    token: ReadTokenOption = None,
) -> None:
    """Follow the node's event stream, one line per event (ring changes, peers seen and dead,
    transfers, repairs), until Ctrl-C or --count events; reconnects on a dropped connection
    without losing events the node still keeps."""
    seen = 0
    with watching(node, token) as watch:
        for event in watch.events(since):
            if as_json:
                typer.echo(json.dumps(event.model_dump(), separators=(",", ":")))
            else:
                typer.echo(watch_render.event_line(event))
            seen += 1
            if count is not None and seen >= count:
                return
