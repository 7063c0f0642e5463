"""Rich tables for what a node answers over REST (the CLI and the demo share them)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from chordshare.api.schemas.ring import LookupAnswer, NodeView, Peer, PeerList, RingWalk

SHORT = 8
"""Hex digits shown of an id: the same short form the logs use."""


def short(ident: str) -> str:
    return ident[:SHORT]


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 piece``, ``2 pieces``, ``0 pieces``: the count with its noun agreeing."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def ring_table(walk: RingWalk, title: str = "Ring") -> Table:
    state = "closed" if walk.closed else f"not closed: {walk.stopped}"
    table = _peer_rows(f"{title} — {plural(len(walk.nodes), 'node')}, {state}", walk.nodes)
    if walk.unreachable:
        table.caption = "unreachable: " + ", ".join(short(p.id) for p in walk.unreachable)
    return table


def peers_table(peers: PeerList) -> Table:
    title = f"Peers known to {short(peers.node.id)} ({len(peers.peers)})"
    return _peer_rows(title, peers.peers)


def _peer_rows(title: str, peers: Sequence[Peer]) -> Table:
    table = Table(title=title)
    table.add_column("#", justify="right", style="dim")
    table.add_column("id", style="cyan")
    table.add_column("gRPC", overflow="fold")
    table.add_column("REST", overflow="fold")
    for index, peer in enumerate(peers):
        table.add_row(str(index), short(peer.id), peer.grpc_address, peer.http_url)
    return table


def lookups_table(
    answers: Sequence[LookupAnswer], asked: str = "", origins: Sequence[str] = ()
) -> Table:
    """One row per lookup; ``origins`` (optional) names the node each lookup was asked of."""
    title = "Lookups" + (f" from {asked}" if asked else "")
    table = Table(title=title)
    if origins:
        table.add_column("asked")
    table.add_column("key", overflow="fold")
    table.add_column("owner", style="cyan")
    table.add_column("owner address", overflow="fold")
    table.add_column("hops", justify="right")
    table.add_column("path", overflow="fold")
    for index, answer in enumerate(answers):
        table.add_row(
            *([origins[index]] if origins else []),
            answer.key if answer.key is not None else "(id)",
            short(answer.owner.id),
            answer.owner.grpc_address,
            str(answer.hops),
            " → ".join(short(p.id) for p in answer.path)
            or ("(cached arc, checked)" if answer.cached else "(local)"),
        )
    return table


def node_table(view: NodeView) -> Table:
    table = Table(title=f"Node {short(view.id)}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    table.add_row("id", view.id)
    table.add_row("gRPC", view.grpc_address)
    table.add_row("REST", view.http_url)
    table.add_row("ring", f"{view.ring_bits}-bit ids, ~{plural(view.estimated_nodes, 'node')}")
    pred = view.predecessor
    table.add_row("predecessor", f"{short(pred.id)} {pred.grpc_address}" if pred else "(none)")
    table.add_row(
        f"successors ({len(view.successors)}/{view.successor_list_size})",
        " ".join(short(p.id) for p in view.successors) or "(alone)",
    )
    fingers = " ".join(f"{f.index}-{f.last_index}:{short(f.peer.id)}" for f in view.fingers)
    table.add_row("fingers", fingers or "(none)")
    return table
