"""How every command reports a failure: one line on stderr and a non-zero exit status.

``chordshare: <message>`` for a person; with ``--json`` (client commands), one JSON object
``{"error": "<kind>", "detail": "<message>"}``, the shape of the REST API's error bodies, so a
script reads failures the way it reads answers. Every command fails through :func:`fail`; the
``--json`` option tells it which form to use (:func:`json_errors`, its callback).
"""

from __future__ import annotations

import json
import sys
from typing import NoReturn

import typer

CONFIG_ERROR_STATUS = 2
"""Bad configuration (including a port in use): the conventional usage-error status."""

RUNTIME_ERROR_STATUS = 1
"""The command could not do its work (a node unreachable or refusing, a seed not letting in)."""

KINDS = {CONFIG_ERROR_STATUS: "ConfigError", RUNTIME_ERROR_STATUS: "Failed"}
"""The ``error`` of a JSON failure when the caller names no exception class."""


class _Mode:
    """Whether the running command was given ``--json`` (reset when the command ends, since
    tests run many commands in one process)."""

    json = False


def json_errors(ctx: typer.Context, value: bool) -> bool:
    """Callback of the ``--json`` option: failures of this command are JSON when it is set."""
    _Mode.json = value

    def reset() -> None:
        _Mode.json = False

    ctx.call_on_close(reset)
    return value


def plain_errors() -> None:
    """Back to plain failures: for a command whose context was never closed (a usage error
    raised while its options were parsed, after ``--json`` had been read)."""
    _Mode.json = False


def fail(message: str, status: int, error: str | None = None) -> NoReturn:
    """Report ``message`` on stderr and exit with ``status``. ``error``: the kind of failure
    (an exception class name, as in the REST error bodies) shown in the JSON form."""
    detail = " ".join(message.split())
    if _Mode.json:
        body = {"error": error or KINDS.get(status, "Failed"), "detail": detail}
        print(json.dumps(body), file=sys.stderr, flush=True)
    else:
        print(f"chordshare: {detail}", file=sys.stderr, flush=True)
    raise typer.Exit(status)
