"""Where a node's settings come from besides flags and the environment: its config file.

:class:`chordshare.service.config.NodeConfig` reads a JSON or TOML file (chosen by the
extension) through the sources here; relative paths in the file resolve against the file's
directory, so a config directory can be moved as a whole.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic_settings import (
    BaseSettings,
    JsonConfigSettingsSource,
    PydanticBaseSettingsSource,
    TomlConfigSettingsSource,
)

CONFIG_FILE: ContextVar[Path | None] = ContextVar("chordshare_config_file", default=None)
"""The file :func:`load_config` is reading (pydantic-settings builds sources in a classmethod,
so the path reaches it through this context variable rather than a class attribute)."""


def path_fields(settings_cls: type[BaseSettings]) -> tuple[str, ...]:
    """Fields holding paths: relative values in a config file resolve against its directory."""
    return tuple(
        name for name, info in settings_cls.model_fields.items() if info.annotation is Path
    )


class _JsonFile(JsonConfigSettingsSource):
    def __call__(self) -> dict[str, Any]:
        return _resolve_paths(
            self.settings_cls, super().__call__(), Path(str(self.json_file_path)).parent
        )


class _TomlFile(TomlConfigSettingsSource):
    def __call__(self) -> dict[str, Any]:
        return _resolve_paths(
            self.settings_cls, super().__call__(), Path(str(self.toml_file_path)).parent
        )


def file_source(settings_cls: type[BaseSettings], path: Path) -> PydanticBaseSettingsSource:
    """The source reading ``path``: JSON for a ``.json`` file, TOML otherwise."""
    if path.suffix.lower() == ".json":
        return _JsonFile(settings_cls, json_file=path)
    return _TomlFile(settings_cls, toml_file=path)


def _resolve_paths(
    settings_cls: type[BaseSettings], data: dict[str, Any], base: Path
) -> dict[str, Any]:
    """Path fields of a file resolve against its directory, defaults included."""
    out = dict(data)
    for name in path_fields(settings_cls):
        value = out.get(name, settings_cls.model_fields[name].default)
        if isinstance(value, str | Path):
            path = Path(value).expanduser()
            out[name] = path if path.is_absolute() else base / path
    return out
