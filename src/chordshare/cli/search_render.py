"""Rich tables of ``chordshare search`` and ``chordshare ls --network``. Names and content
hashes are shown whole: a column too narrow for them folds them onto more lines, never cuts
them (``overflow="fold"``), so what a table shows can be pasted into ``get --hash``."""

from __future__ import annotations

from rich.table import Table

from chordshare.api.schemas.search import SearchHitView
from chordshare.cli.files_render import size_text


def _whole(table: Table, header: str, style: str = "") -> None:
    table.add_column(header, style=style, overflow="fold")


def search_table(query: str, hits: list[SearchHitView], total: int, offset: int) -> Table:
    """One row per variant of each name found."""
    shown = f"{offset + 1}-{offset + len(hits)} of {total}" if hits else f"0 of {total}"
    table = Table(title=f"Names with every word of {query!r} ({shown})")
    _whole(table, "name", "bold")
    _whole(table, "content hash", "cyan")
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("providers", justify="right", no_wrap=True)
    for hit in hits:
        for i, v in enumerate(hit.variants):
            table.add_row(
                hit.name if i == 0 else "", v.content_hash, size_text(v.size), str(v.providers)
            )
    if not hits:
        table.caption = "(no name has every word)"
    return table


def names_table(names: list[str], offset: int) -> Table:
    table = Table(title=f"Names in the network ({offset + 1}-{offset + len(names)})")
    _whole(table, "name", "bold")
    for name in names:
        table.add_row(name)
    if not names:
        table.title = "Names in the network"
        table.caption = "(none)"
    return table
