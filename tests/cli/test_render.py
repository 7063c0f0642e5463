"""What the CLI prints, at a terminal's width: URIs, addresses and hashes are folded, never cut;
counts agree with their nouns; speeds use the binary units of the sizes beside them; ``--help``
shows no ``<bool>`` after a flag."""

from __future__ import annotations

import typer.main
from rich.console import Console
from rich.progress import Progress, TransferSpeedColumn
from rich.table import Table
from typer.testing import CliRunner

from chordshare.api.schemas.files import (
    FileRecordView,
    HeldFiles,
    HeldFileView,
    NetworkFile,
    ProviderView,
)
from chordshare.api.schemas.ring import Peer, PeerList
from chordshare.cli.files_render import download_line, held_table, record_table
from chordshare.cli.main import app
from chordshare.cli.progress import BinarySpeedColumn, progress_bar
from chordshare.cli.render import peers_table, plural
from chordshare.client.download import GetReport

HASH = "ab" * 32
NODE = "0123456789abcdef"
URI = "http://node-with-a-rather-long-host-name.example.internal:8000/api/v1/files/" + (
    "a-file-name-long-enough-to-need-two-lines.tar.gz"
)


def rendered(table: Table, width: int = 80) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def column(text: str, header: str) -> str:
    """The text of one column of a rendered table, its folded lines joined."""
    lines = text.splitlines()
    head = next(line for line in lines if header in line and "┃" in line)
    index = [cell.strip() for cell in head.split("┃")].index(header)
    cells = [line.split("│") for line in lines if line.count("│") == head.count("┃")]
    return "".join(cell[index].strip() for cell in cells)


def test_a_long_uri_is_folded_whole_at_80_columns() -> None:
    held = HeldFiles(
        node=NODE,
        files=[
            HeldFileView(
                name="x.tar.gz",
                size=5,
                piece_size=1 << 20,
                pieces=1,
                content_hash=HASH,
                uri=URI,
                source="shared",
            )
        ],
    )
    text = rendered(held_table(held))
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text
    assert column(text, "URI") == URI
    assert column(text, "content hash") == HASH[:16]


def test_peer_addresses_are_folded_whole() -> None:
    url = "http://a-very-long-host-name-for-a-node.cluster.example.internal:65535"
    peer = Peer(
        id="0" * 8, grpc_address="a-very-long-host-name.example.internal:65534", http_url=url
    )
    text = rendered(peers_table(PeerList(node=peer, peers=[peer])), width=60)
    assert "…" not in text
    assert column(text, "REST") == url
    assert column(text, "gRPC") == peer.grpc_address


def test_counts_agree_with_their_nouns() -> None:
    assert [plural(n, "piece") for n in (0, 1, 2)] == ["0 pieces", "1 piece", "2 pieces"]
    provider = ProviderView(
        node_id=NODE, grpc_address="10.0.0.2:7000", uri=URI, expires_at=100.0, pinned=False
    )
    record = FileRecordView(
        name="one.bin",
        size=10,
        piece_size=1 << 20,
        pieces=1,
        content_hash=HASH,
        piece_hashes=[HASH],
        providers=[provider],
    )
    title = rendered(record_table(NetworkFile(name="one.bin", key_id=NODE, records=[record])), 200)
    assert "in 1 piece of 1.0 MiB" in title
    assert "1 pieces" not in title
    report = GetReport(
        name="one.bin",
        path="/tmp/one.bin",
        size=10,
        content_hash=HASH,
        sha256=HASH,
        pieces=1,
        resumed_pieces=0,
        fetched_pieces=1,
        providers=[],
        bad_providers=[],
        already_present=False,
        seconds=0.5,
        mib_per_s=0.0,
    )
    line = download_line(report)
    assert "1 of 1 piece from 0 providers" in line


def test_the_transfer_speed_is_in_binary_units() -> None:
    now = [0.0]
    bar = Progress(BinarySpeedColumn(), get_time=lambda: now[0], disable=True)
    task = bar.add_task("x", total=100 << 20)
    bar.update(task, completed=1 << 20)
    now[0] = 2.0
    bar.update(task, completed=7 << 20)  # 6 MiB in 2 s
    assert BinarySpeedColumn().render(bar.tasks[0]).plain == "3.0 MiB/s"
    columns = progress_bar(Console(), enabled=False).columns
    assert not any(isinstance(c, TransferSpeedColumn) for c in columns)  # decimal MB/s


def test_no_help_shows_bool() -> None:
    runner = CliRunner()
    root = typer.main.get_command(app)
    paths: list[list[str]] = [[]]
    for name, command in getattr(root, "commands", {}).items():
        paths.append([name])
        paths.extend([name, sub] for sub in getattr(command, "commands", {}))
    assert len(paths) > 20
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, path
        for placeholder in ("<bool>", "<int>", "<float>"):  # options show a name or nothing
            assert placeholder not in result.output, (path, placeholder)
        assert "--help" in result.output
    result = runner.invoke(app, ["get", "--help"], env={"COLUMNS": "200"})
    assert "--json" in result.output
