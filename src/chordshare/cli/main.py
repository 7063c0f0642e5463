"""Entry point of the ``chordshare`` command (``python -m chordshare.cli.main`` works too).

Each command's module is imported only when that command runs (:mod:`chordshare.cli.lazy_group`),
so :data:`COMMANDS` names where each one is defined; a new command is one more entry there, in
the place ``chordshare --help`` should list it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

# httpx imports its own command-line tool (click, rich, pygments) whenever those are installed,
# which they are here: a third of a client command's start-up. Marking that module absent
# makes httpx skip it, as it does when they are not installed; nothing here uses it.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import typer  # noqa: E402 (after the line above, before anything imports httpx)
from typer._click.exceptions import ClickException  # noqa: E402

from chordshare import __version__  # noqa: E402
from chordshare.cli import grpc_logs, report  # noqa: E402
from chordshare.cli.lazy_group import LazyGroup  # noqa: E402

CLIENT = "chordshare.cli.client:app"
FILES = "chordshare.cli.files:app"
WATCH = "chordshare.cli.watch:app"

COMMANDS = {
    "node": "chordshare.cli.node:register",
    "config": "chordshare.cli.config_cmd:register",
    "demo": "chordshare.cli.demo:register",
    "open": "chordshare.cli.open_cmd:register",
    **dict.fromkeys(["ring", "lookup", "peers", "leave", "rescan", "info"], CLIENT),
    **dict.fromkeys(["ls", "search", "show", "get", "put"], FILES),
    "rm": "chordshare.cli.remove:register",
    **dict.fromkeys(["status", "transfers", "events"], WATCH),
    "sim": "chordshare.cli.sim:sim_app",
    "certs": "chordshare.cli.certs:app",
}
"""Command name -> ``"module:attribute"`` defining it: a Typer app or a ``register(app)``."""


class Commands(LazyGroup):
    lazy = COMMANDS

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """With ``--json`` anywhere on the line, a usage error (a missing argument, an unknown
        option) is one JSON object on stderr like every other failure, not a boxed panel."""
        argv = sys.argv[1:] if args is None else list(args)
        if not standalone_mode or "--json" not in argv:
            return super().main(
                args, prog_name, complete_var, standalone_mode, windows_expand_args, **extra
            )
        try:
            code = super().main(argv, prog_name, complete_var, False, windows_expand_args, **extra)
        except ClickException as exc:
            body = {"error": "UsageError", "detail": " ".join(exc.format_message().split())}
            print(json.dumps(body), file=sys.stderr, flush=True)
            sys.exit(exc.exit_code)
        finally:
            report.plain_errors()
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="chordshare",
    help="Peer-to-peer file sharing on a Chord ring: run a node, or ask a running node.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=Commands,  # imports a command's module when it runs; no "<bool>" after flags in --help
)


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
