"""``chordshare config``: the config file's documentation and a validator, both derived from
:class:`NodeConfig` (its fields, defaults and docstrings), so they never drift from the model.

* ``chordshare config --example`` prints a commented TOML file with every setting and its default;
* ``chordshare config --config FILE`` prints the settings a node started with that file (and the
  current environment) would use, or the one-line error and exit status 2.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Annotated, Any

import typer

from chordshare.cli.node import CONFIG_ERROR_STATUS, fail
from chordshare.errors import ConfigError
from chordshare.service.config import NodeConfig
from chordshare.service.loading import load_config

WIDTH = 98


def toml_value(value: Any) -> str:
    """A TOML literal for the flat values a config holds (JSON's string escapes are TOML's)."""
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)


def example() -> str:
    """Every field, commented out at its default, under its docstring."""
    out = [
        "# chordshare node configuration (TOML; a .json file with the same keys works too).",
        "# Environment variables CHORDSHARE_<FIELD> override these; command-line flags",
        "# override both. Relative paths are relative to this file's directory.",
    ]
    for name, info in NodeConfig.model_fields.items():
        out.append("")
        doc = " ".join((info.description or "").split())
        out.extend(textwrap.wrap(doc, WIDTH, initial_indent="# ", subsequent_indent="# "))
        default = info.get_default(call_default_factory=True)
        out.append(f"# {name} = {toml_value(default)}")
    return "\n".join(out) + "\n"


SECRET_FIELDS = frozenset({"api_token"})
"""Printed masked: the output of ``chordshare config`` ends up in terminals and bug reports."""


def mask(secret: str) -> str:
    """``""`` stays empty (it means something: use the token file); anything else is hidden."""
    return "********" if secret else ""


def effective(config: NodeConfig) -> str:
    lines = []
    for name in NodeConfig.model_fields:
        value = getattr(config, name)
        if name in SECRET_FIELDS:
            value = mask(str(value))
        lines.append(f"{name} = {toml_value(value)}\n")
    return "".join(lines)


def register(app: typer.Typer) -> None:
    @app.command("config")
    def config_command(
        config: Annotated[
            Path | None,
            typer.Option(
                "--config",
                "-c",
                envvar="CHORDSHARE_CONFIG",
                dir_okay=False,
                metavar="FILE",
                help="Config file to check (.json or .toml).",
            ),
        ] = None,
        show_example: Annotated[
            bool, typer.Option("--example", help="Print a commented config file with defaults.")
        ] = False,
    ) -> None:
        """Print a documented example config, or the settings a config file resolves to."""
        if show_example:
            typer.echo(example(), nl=False)
            return
        try:
            resolved = load_config(config)
        except ConfigError as exc:
            fail(f"invalid configuration: {exc}", CONFIG_ERROR_STATUS)
        typer.echo(effective(resolved), nl=False)
