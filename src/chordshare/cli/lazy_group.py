"""The root group of ``chordshare``, whose commands are imported when they are used.

A command's module is imported when the command is run, or its help shown, not before: a client
command such as ``chordshare info`` loads the REST client and not the node's server, the
simulator or the certificate tools. :attr:`LazyGroup.lazy` names, for each command in the
order ``--help`` lists them, where it is defined: ``"module:attribute"``, the attribute being
either a :class:`typer.Typer` (added as ``app.add_typer`` would: its commands, or itself as a
group when it has a name) or a ``register(app)`` function that adds the command to an app.

The group's ``commands`` mapping knows every name at once and loads a command when it is read,
so code that walks the commands (help, tests) sees them all.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from functools import cache
from typing import Any, ClassVar

import typer
import typer.main
from typer import _click

from chordshare.cli.help_flags import FlagsGroup


class LazyGroup(FlagsGroup):
    """A :class:`FlagsGroup` that imports a command's module the first time the command is
    read (subclasses set :attr:`lazy`)."""

    lazy: ClassVar[Mapping[str, str]] = {}
    """Command name -> ``"module:attribute"`` defining it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = LazyCommands(self.lazy, self.commands)

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return list(self.commands)  # the names, without loading the commands


class LazyCommands(MutableMapping[str, _click.Command]):
    """Commands by name: those of ``lazy`` loaded when first read, then the ``eager`` ones."""

    def __init__(self, lazy: Mapping[str, str], eager: Mapping[str, _click.Command]) -> None:
        self._lazy = dict(lazy)
        self._loaded = dict(eager)

    def __getitem__(self, name: str) -> _click.Command:
        if name not in self._loaded:
            self._loaded[name] = load(self._lazy[name], name)  # KeyError: no such command
        return self._loaded[name]

    def __contains__(self, name: object) -> bool:
        return name in self._lazy or name in self._loaded

    def __iter__(self) -> Iterator[str]:
        yield from self._lazy
        yield from (name for name in self._loaded if name not in self._lazy)

    def __len__(self) -> int:
        return len(self._lazy.keys() | self._loaded.keys())

    def __setitem__(self, name: str, command: _click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._lazy.pop(name, None)
        self._loaded.pop(name, None)


def load(spec: str, name: str) -> _click.Command:
    """The command ``name`` that ``spec`` (``"module:attribute"``) defines."""
    command = _commands(spec).get(name)
    if command is None:
        raise LookupError(f"{spec} defines no command {name!r}")
    return command


@cache
def _commands(spec: str) -> Mapping[str, _click.Command]:
    module, _, attribute = spec.partition(":")
    target: typer.Typer | Callable[[typer.Typer], None]
    target = getattr(importlib.import_module(module), attribute)
    holder = typer.Typer()
    if isinstance(target, typer.Typer):
        holder.add_typer(target)
    else:
        target(holder)
    return typer.main.get_group(holder).commands
