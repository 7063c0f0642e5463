"""Loading a :class:`NodeConfig`: file, environment and flags, in that order of precedence, and
the one-line error message a bad value gets (naming its source, the field and the reason)."""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings.exceptions import SettingsError

from chordshare.errors import ConfigError
from chordshare.service.config import CONFIG_FILE, ENV_PREFIX, NodeConfig


def load_config(
    path: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> NodeConfig:
    """Build the config from ``path`` (optional), the environment and ``overrides`` (flag values;
    ``None`` values mean "not given"). Raises :class:`ConfigError` with a one-line message."""
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    file = _check_file(Path(path)) if path is not None else None
    token = CONFIG_FILE.set(file)
    try:
        return NodeConfig(**flags)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, file, flags)) from exc
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not valid {_kind(file)}: {_one_line(exc)}") from exc
    except (SettingsError, ValueError, TypeError, AttributeError) as exc:
        where = file if file is not None else "configuration"
        raise ConfigError(f"{where}: {_one_line(exc)}") from exc
    finally:
        CONFIG_FILE.reset(token)


def _check_file(path: Path) -> Path:
    path = path.expanduser().absolute()
    if path.suffix.lower() not in (".json", ".toml"):
        raise ConfigError(
            f"{path}: unknown config file extension {path.suffix or '(none)'!r}; use .json or .toml"
        )
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    if not path.is_file():
        raise ConfigError(f"{path}: not a regular file")
    try:
        content = path.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if path.suffix.lower() == ".json" and content and not content.startswith(b"{"):
        raise ConfigError(f"{path}: the top level of a JSON config must be an object")
    return path


def _describe(
    exc: ValidationError,
    file: Path | None,
    flags: Mapping[str, Any],
) -> str:
    """One line per pydantic error, joined: ``<source>: field '<name>': <reason>``."""
    env = {k.upper() for k in os.environ}
    parts = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"])
        name = str(err["loc"][0]) if err["loc"] else ""
        if name in flags:
            source = f"flag --{name.replace('_', '-')}"
        elif (ENV_PREFIX + name).upper() in env:
            source = f"environment variable {(ENV_PREFIX + name).upper()}"
        elif file is not None:
            source = str(file)
        else:
            source = "configuration"
        reason = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        reason = reason.removeprefix("Value error, ")
        if err["type"] != "extra_forbidden" and "input" in err and name:
            reason += f" (got {err['input']!r})"
        label = f"field '{field}': " if field else ""
        parts.append(f"{source}: {label}{_one_line(reason)}")
    return "; ".join(parts)


def _kind(file: Path | None) -> str:
    return "TOML" if file is not None and file.suffix.lower() == ".toml" else "JSON"


def _one_line(exc: object) -> str:
    return " ".join(str(exc).split())
