"""Entry point of the ``chordshare`` command (``python -m chordshare.cli.main`` works too)."""

from __future__ import annotations

import typer

from chordshare import __version__
from chordshare.cli import (
    certs,
    client,
    config_cmd,
    demo,
    files,
    grpc_logs,
    node,
    open_cmd,
    watch,
)
from chordshare.cli.help_flags import FlagsGroup
from chordshare.cli.sim import sim_app

app = typer.Typer(
    name="chordshare",
    help="Peer-to-peer file sharing on a Chord ring: run a node, or ask a running node.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=FlagsGroup,  # no "<bool>" after flags in --help
)
node.register(app)
app.add_typer(client.app)
app.add_typer(files.app)
app.add_typer(watch.app)
config_cmd.register(app)
demo.register(app)
open_cmd.register(app)
app.add_typer(sim_app, name="sim")
app.add_typer(certs.app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"chordshare {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Peer-to-peer file sharing on a Chord ring."""
    grpc_logs.quiet_by_default()  # before any command imports gRPC


def main() -> None:
    app()


if __name__ == "__main__":
    main()
