"""``chordshare node``: run one node from its config file.

The command's flags are generated from :class:`NodeConfig`'s fields (name, type, docstring and
default), so the settings list is written once, in the config module. Every flag value is
handed to :func:`load_config` as given, and validated there with the file and environment
values, so a bad flag gets the same one-line error as a bad file entry.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
from pathlib import Path
from typing import Annotated, Any, get_origin

import typer

from chordshare.cli import grpc_logs
from chordshare.cli.report import CONFIG_ERROR_STATUS as CONFIG_ERROR_STATUS
from chordshare.cli.report import RUNTIME_ERROR_STATUS as RUNTIME_ERROR_STATUS
from chordshare.cli.report import fail as fail
from chordshare.errors import ChordshareError, ConfigError
from chordshare.service.config import NodeConfig
from chordshare.service.dirs import check_shared_dir
from chordshare.service.loading import load_config
from chordshare.service.logs import configure_logging

PANELS = {
    "listen_host": "Network",
    "shared_dir": "Directories",
    "ring_bits": "Ring",
    "join_attempts": "Joining and lifecycle",
    "piece_size": "File sharing",
}
"""The first field of each help section (fields follow the model's declaration order)."""


def run_node(
    config_file: Path | None,
    flags: dict[str, Any],
    http_fd: int | None = None,
    *,
    verbose: bool = False,
) -> None:
    """Load the config, run the node until it stops, exit with its status. ``verbose`` lets
    gRPC's own log lines through (see :mod:`chordshare.cli.grpc_logs`)."""
    if verbose:
        grpc_logs.verbose()
    else:
        grpc_logs.quiet_by_default()
    # Imported here, after the gRPC log level is set: gRPC reads it when first imported. And
    # gRPC, FastAPI and uvicorn take most of a second to import, which the client commands
    # (ring, lookup, ...) should not pay for.
    from chordshare.service.node_service import serve

    try:
        config = load_config(config_file, flags)
    except ConfigError as exc:
        fail(f"invalid configuration: {exc}", CONFIG_ERROR_STATUS)
    http_socket = None
    if http_fd is not None:
        try:
            http_socket = socket.socket(fileno=http_fd)
        except OSError as exc:
            fail(f"--http-fd {http_fd}: not a socket ({exc.strerror})", CONFIG_ERROR_STATUS)
    try:
        check_shared_dir(config.shared_dir, create=config.create_shared_dir)
    except ConfigError as exc:
        fail(str(exc), CONFIG_ERROR_STATUS)
    stamp = configure_logging(config.log_level)
    try:
        status = asyncio.run(serve(config, log_filter=stamp, http_socket=http_socket))
    except ConfigError as exc:
        fail(str(exc), CONFIG_ERROR_STATUS)
    except ChordshareError as exc:
        fail(str(exc), RUNTIME_ERROR_STATUS)
    except (KeyboardInterrupt, asyncio.CancelledError):
        fail("stopped by a second signal, without finishing the graceful leave", 130)
    raise typer.Exit(status)


def _metavar(annotation: Any) -> str:
    if annotation is int:
        return "INT"
    if annotation is float:
        return "SECONDS"  # every float setting is a duration
    if annotation is Path:
        return "DIR"
    return "TEXT"


def _field_options() -> list[inspect.Parameter]:
    """One ``--field-name`` option per config field, ``None`` meaning "not given"."""
    params = []
    panel = "Network"
    for name, info in NodeConfig.model_fields.items():
        panel = PANELS.get(name, panel)
        is_list = get_origin(info.annotation) is list
        is_flag = info.annotation is bool
        default = info.get_default(call_default_factory=True)
        shown = ", ".join(default) if is_list else default
        if is_flag:
            shown = "yes" if default else "no"
        help_text = f"{info.description or ''} [default: {shown if shown != '' else 'derived'}]"
        flag = f"--{name.replace('_', '-')}"
        # A yes/no setting is a pair of flags (--x/--no-x), not an option taking a value.
        option = typer.Option(
            f"{flag}/--no-{flag[2:]}" if is_flag else flag,
            help=help_text,
            metavar=None if is_flag else "URL" if is_list else _metavar(info.annotation),
            rich_help_panel=panel,
            show_default=False,
        )
        kind: Any = bool | None if is_flag else list[str] | None if is_list else str | None
        params.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[kind, option],
            )
        )
    return params


def _node_command(
    config: Path | None = None, http_fd: int | None = None, verbose: bool = False, **flags: Any
) -> None:
    run_node(config, flags, http_fd, verbose=verbose)


_CONFIG_OPTION = typer.Option(
    "--config",
    "-c",
    help="Config file (.json or .toml). Environment variables CHORDSHARE_<FIELD> override "
    "its values, and flags override both.",
    envvar="CHORDSHARE_CONFIG",
    dir_okay=False,
    metavar="FILE",
)
_HTTP_FD_OPTION = typer.Option(
    "--http-fd",
    help="Serve REST on this inherited file descriptor: a TCP socket already bound to "
    "listen_host:http_port by the process that starts the node (which can then publish the "
    "address before the node runs), instead of binding one. [default: bind]",
    metavar="FD",
    rich_help_panel="Network",
    show_default=False,
)
_VERBOSE_OPTION = typer.Option(
    "--verbose",
    "-v",
    help="Also print gRPC's own log lines (its connection events and errors), which are off "
    "by default; the GRPC_VERBOSITY environment variable sets their level too.",
)
_node_command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        inspect.Parameter(
            "config",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[Path | None, _CONFIG_OPTION],
        ),
        inspect.Parameter(
            "http_fd",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[int | None, _HTTP_FD_OPTION],
        ),
        inspect.Parameter(
            "verbose",
            inspect.Parameter.KEYWORD_ONLY,
            default=False,
            annotation=Annotated[bool, _VERBOSE_OPTION],
        ),
        *_field_options(),
    ]
)
_node_command.__doc__ = """Run a node: serve gRPC and REST, join the ring through the seeds
(or start a new ring), keep the ring healthy, leave gracefully on SIGINT/SIGTERM."""


def register(app: typer.Typer) -> None:
    app.command("node")(_node_command)
