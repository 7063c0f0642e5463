"""``chordshare open``: the URL of a node's dashboard, opened in a browser where there is one.

The node is asked first (``GET /healthz``), so a wrong ``--node`` is an error here and not a
blank browser tab; the URL printed is the one the node answered at, with the dashboard's path.
A browser is launched only when Python's :mod:`webbrowser` finds one (a desktop session, or
``$BROWSER``); on a headless host the printed URL is the answer.
"""

from __future__ import annotations

import webbrowser
from typing import Annotated

import typer

from chordshare.cli.client import DEFAULT_NODE, NodeOption, connected
from chordshare.client.rest import normalize_base_url

DASHBOARD_PATH = "/"


def register(app: typer.Typer) -> None:
    app.command("open")(open_dashboard)


def open_dashboard(
    node: NodeOption = DEFAULT_NODE,
    browser: Annotated[
        bool,
        typer.Option(
            "--browser/--no-browser",
            help="Open the URL in a browser when one is found (default), or only print it.",
        ),
    ] = True,
) -> None:
    """Print the node's dashboard URL and open it in a browser where one exists."""
    with connected(node) as api:
        api.health()
    url = normalize_base_url(node) + DASHBOARD_PATH
    typer.echo(url)
    if browser and not _launch(url):
        typer.echo("no browser found here: open the URL above in one", err=True)


def _launch(url: str) -> bool:
    try:
        return webbrowser.open(url, new=2)
    except webbrowser.Error:
        return False
