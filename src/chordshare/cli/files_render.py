"""Rich tables and lines for the file commands (``ls``, ``search``, ``get``, ``put``) and the
demo, from what a node answers over REST and what a download reports."""

from __future__ import annotations

import time

from rich.table import Table

from chordshare.api.schemas.files import HeldFiles, NetworkFile, UploadAnswer
from chordshare.cli.render import plural, short
from chordshare.client.download import GetReport

HASH_SHOWN = 16
"""Hex digits shown of a content hash in tables (64 bits: enough to tell files apart by eye).
Columns of hashes, addresses and URIs fold (wrap inside a character run) on a narrow terminal:
a cut one cannot be copied."""


def size_text(size: int) -> str:
    """Bytes in binary units: ``512 B``, ``1.5 KiB``, ``100.0 MiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def held_table(held: HeldFiles) -> Table:
    table = Table(title=f"Files of node {short(held.node)} ({len(held.files)})")
    table.add_column("name", style="bold")
    table.add_column("size", justify="right")
    table.add_column("content hash", style="cyan", overflow="fold")
    table.add_column("from")
    table.add_column("URI", overflow="fold")
    for f in held.files:
        table.add_row(f.name, size_text(f.size), f.content_hash[:HASH_SHOWN], f.source, f.uri)
    if not held.files:
        table.caption = "(none: the shared directory is empty and nothing is stored)"
    return table


def record_table(answer: NetworkFile, now: float | None = None) -> Table:
    """One row per provider; when several files share the name, a column tells them apart."""
    now = time.time() if now is None else now
    several = len(answer.records) > 1
    if several:
        title = f"{answer.name}: {len(answer.records)} different files under this name"
    else:
        r = answer.records[0]
        title = (
            f"{answer.name}: {size_text(r.size)} in {plural(r.pieces, 'piece')} of "
            f"{size_text(r.piece_size)}"
            f", content hash {r.content_hash[:HASH_SHOWN]}"
        )
    table = Table(title=title, caption=f"stored under key {short(answer.key_id)}")
    if several:
        table.add_column("content hash", style="cyan", overflow="fold")
        table.add_column("size", justify="right")
    table.add_column("provider", style="bold")
    table.add_column("gRPC", overflow="fold")
    table.add_column("URI", overflow="fold")
    table.add_column("expires in", justify="right")
    for record in answer.records:
        variant = [record.content_hash[:HASH_SHOWN], size_text(record.size)] if several else []
        for p in record.providers:
            expires = f"{max(0.0, p.expires_at - now):.0f} s"
            table.add_row(*variant, short(p.node_id), p.grpc_address, p.uri, expires)
            variant = ["", ""] if several else []
        if not record.providers:
            table.add_row(*variant, "(no live provider)", "", "", "")
    return table


def upload_table(answer: UploadAnswer) -> Table:
    record = answer.record
    table = Table(
        title=f"{record.name} stored: {size_text(record.size)}, content hash "
        f"{record.content_hash[:HASH_SHOWN]}, {plural(len(answer.holders), 'holder')}"
    )
    table.add_column("holder", style="bold")
    table.add_column("gRPC", overflow="fold")
    table.add_column("REST", overflow="fold")
    for holder in answer.holders:
        table.add_row(short(holder.id), holder.grpc_address, holder.http_url)
    for address, why in sorted(answer.failed.items()):
        table.add_row("[red]failed[/]", address, why)
    return table


def download_table(report: GetReport, title: str | None = None) -> Table:
    table = Table(title=title or f"{report.name}: pieces per provider")
    table.add_column("provider", style="bold")
    table.add_column("gRPC", overflow="fold")
    table.add_column("pieces", justify="right")
    table.add_column("share", justify="right")
    fetched = max(1, report.fetched_pieces)
    for p in report.providers:
        table.add_row(short(p.node_id), p.grpc_address, str(p.pieces), f"{p.pieces / fetched:.0%}")
    for bad in report.bad_providers:
        table.add_row(short(bad.node_id), bad.grpc_address, "[red]dropped[/]", bad.reason)
    if report.resumed_pieces:
        table.add_row("(resumed)", "from the partial file", str(report.resumed_pieces), "")
    return table


def download_line(report: GetReport) -> str:
    whole = f"; SHA-256 {report.sha256}" if report.sha256 is not None else ""
    if report.already_present:
        return f"{report.path} already holds {report.name}{whole}; nothing fetched"
    moved = (
        f"{report.fetched_pieces} of {plural(report.pieces, 'piece')} from "
        f"{plural(len(report.providers), 'provider')}"
    )
    if report.resumed_pieces:
        moved += f" ({report.resumed_pieces} resumed)"
    return (
        f"saved {report.path} ({size_text(report.size)}): {moved} in {report.seconds:.2f} s "
        f"({report.mib_per_s} MiB/s), every piece verified{whole}"
    )
