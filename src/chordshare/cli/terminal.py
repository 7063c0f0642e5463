"""The rich console a command prints through, imported when the command first prints with it:
rich is a large import, and a command asked for ``--json`` never needs it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def console(*, stderr: bool = False) -> Console:
    """A rich console on stdout, or on stderr with ``stderr``."""
    from rich.console import Console

    return Console(stderr=stderr)
