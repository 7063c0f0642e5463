"""``--help`` without ``<bool>``: a flag takes no value, so its help row shows none.

Typer's rich help prints a type after every option, flags included (``--json <bool>``,
``--help <bool>``), which reads as if the flag wanted a value. :class:`FlagsGroup`, the root
group of the ``chordshare`` command, blanks the type of every flag (an empty metavar, which is
what the rich help shows in the type column) of each command before it is run or its help is
shown; options that take a value keep theirs.
"""

from __future__ import annotations

# Typer vendors click as typer._click: its Context and Command are the types TyperGroup and
# TyperOption work with (the public click package is another copy).
from typer import _click
from typer.core import TyperArgument, TyperGroup, TyperOption


class FlagsGroup(TyperGroup):
    """A Typer group whose commands (and sub-groups') flags show no type in their help."""

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            untyped_flags(command, ctx)
        return command

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        untyped_flags(self, ctx)
        super().format_help(ctx, formatter)


def untyped_flags(command: _click.Command, ctx: _click.Context) -> None:
    """Blank the help type of ``command``'s flags (its ``--help`` included) and, for a group,
    of every command below it."""
    for param in command.get_params(ctx):
        if param.metavar is not None or param.name is None:
            continue
        if isinstance(param, TyperOption) and param.is_flag:
            param.metavar = ""
        elif isinstance(param, TyperOption | TyperArgument):
            param.metavar = param.name.upper()  # KEY, LIMIT: not Typer's "{key}" or "<int>"
    if isinstance(command, TyperGroup):
        for name in command.list_commands(ctx):
            sub = TyperGroup.get_command(command, ctx, name)
            if sub is not None:
                untyped_flags(sub, ctx)
