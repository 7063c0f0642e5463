"""Rich screens and plain lines for ``chordshare status``, ``transfers`` and ``events``."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from chordshare.api.schemas.events import EventMessage, NodeStatus, TransferView
from chordshare.cli.files_render import HASH_SHOWN, size_text
from chordshare.cli.render import short


def duration_text(seconds: float) -> str:
    """``42 s``, ``3 min 5 s``, ``2 h 10 min``, ``3 d 4 h``."""
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def rate_text(bps: float) -> str:
    return f"{size_text(int(bps))}/s"


def arc_share(start: str, end: str) -> float:
    """The fraction of the ring in (start, end] (hex ids of one width; equal: the whole)."""
    size = 1 << (4 * len(end))
    span = (int(end, 16) - int(start, 16)) % size
    return 1.0 if span == 0 else span / size


def status_screen(status: NodeStatus) -> Group:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("node", f"{short(status.id)}  up {duration_text(status.uptime_s)}")
    grid.add_row("ring", f"~{status.estimated_nodes} nodes (estimated from successor density)")
    grid.add_row(
        "key range",
        f"({short(status.range.start)}, {short(status.range.end)}]  "
        f"{arc_share(status.range.start, status.range.end):.1%} of the ring",
    )
    grid.add_row("records", str(status.records))
    shared = status.bytes_held - status.pinned_bytes - status.cached_bytes
    grid.add_row(
        "bytes held",
        f"{size_text(status.bytes_held)}: pinned {size_text(status.pinned_bytes)}, "
        f"cached {size_text(status.cached_bytes)}, shared {size_text(shared)}",
    )
    grid.add_row("transfers", f"{status.transfers_running} running")
    rpc = status.rpc
    grid.add_row(
        "gRPC",
        f"{rpc.calls} calls ({rpc.calls_per_s:.1f}/s), {rpc.errors} errors "
        f"({rpc.errors_per_s:.1f}/s)",
    )
    warnings = (
        Text("\n".join(f"! {w}" for w in status.warnings), style="yellow")
        if status.warnings
        else Text("no warnings", style="green")
    )
    return Group(grid, Text(""), warnings)


def transfers_table(transfers: list[TransferView], title: str = "Transfers") -> Table:
    running = sum(1 for t in transfers if t.state == "running")
    table = Table(title=f"{title}: {running} running, {len(transfers) - running} finished")
    table.add_column("id", style="dim")
    table.add_column("kind")
    table.add_column("name", style="bold")
    table.add_column("progress", justify="right")
    table.add_column("rate", justify="right")
    table.add_column("peer")
    table.add_column("state")
    table.add_column("age", justify="right")
    now = time.time()
    for t in transfers:
        table.add_row(
            t.id,
            t.kind,
            t.name or (t.content_hash or "")[:HASH_SHOWN],
            progress_text(t.bytes_done, t.bytes_total),
            rate_text(t.rate_bps),
            t.peer or "",
            _state(t),
            duration_text(max(0.0, now - (t.finished or t.started))),
        )
    if not transfers:
        table.caption = "(none yet)"
    return table


def progress_text(done: int, total: int | None) -> str:
    if total is None:
        return size_text(done)
    share = f" {done / total:.0%}" if total else ""
    return f"{size_text(done)} / {size_text(total)}{share}"


def _state(t: TransferView) -> Text:
    if t.state == "running":
        return Text("running", style="cyan")
    if t.state == "done":
        return Text("done", style="green")
    return Text(f"failed: {t.error or '?'}", style="red")


def event_line(event: EventMessage) -> str:
    """One line: local time, sequence number, kind and what it says."""
    stamp = time.strftime("%H:%M:%S", time.localtime(event.time))
    return f"{stamp} #{event.seq:<6} {event.kind:<18} {_summary(event.kind, event.data)}".rstrip()


def _peer(value: Any) -> str:
    if not isinstance(value, dict):
        return "none"
    return f"{short(str(value.get('id', '?')))}@{value.get('grpc_address', '?')}"


def _summary(kind: str, data: dict[str, Any]) -> str:
    if kind.startswith("transfer.") and isinstance(data.get("transfer"), dict):
        t = data["transfer"]
        done, total = int(t.get("bytes_done", 0)), t.get("bytes_total")
        text = f"{t.get('id')} {t.get('kind')} {t.get('name') or ''} "
        text += progress_text(done, total if isinstance(total, int) else None)
        if t.get("state") == "running":
            return f"{text} {rate_text(float(t.get('rate_bps', 0.0)))}"
        failed = t.get("state") == "failed"
        return f"{text} {t.get('state')}" + (f": {t.get('error')}" if failed else "")
    if kind == "ring.finger":
        return f"finger {data.get('index')} -> {_peer(data.get('peer'))}"
    if kind == "peer.dead":
        return f"{_peer(data.get('peer'))} ({data.get('reason', 'dead')})"
    if kind == "repair":
        return f"{data.get('action')} {data.get('name') or data.get('content_hash')} " + _peer(
            data.get("peer")
        )
    if kind.startswith("record."):
        return f"{data.get('name')} {str(data.get('content_hash', ''))[:HASH_SHOWN]} " + _peer(
            data.get("provider")
        )
    if "peer" in data:
        return _peer(data.get("peer"))
    return " ".join(f"{k}={v}" for k, v in data.items())
