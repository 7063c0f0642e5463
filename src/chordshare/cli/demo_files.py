"""The file part of ``chordshare demo``: a file shared on one node, found and downloaded from
others, verified.

Before the first node starts, a file of random bytes is written into its shared directory
(:func:`plant`); the node indexes and publishes it when it becomes ready. Then
(:func:`show_files`): the file is searched for through the last node (the record names the
first node as its provider); the same file is uploaded through a second node, which stores it on
the k holders of its name, so the record now lists several providers; finally it is downloaded
the way ``chordshare get`` does it, located through another node and fetched piece by piece from
all the providers at once over gRPC, every piece verified, and the SHA-256 of the copy is
compared with the original's.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from chordshare.api.schemas.files import NetworkFile
from chordshare.cli import files_render as render
from chordshare.cli.files import send
from chordshare.cli.launcher import NodeProcess, NotYet, wait_until
from chordshare.cli.progress import fetch_with_bar
from chordshare.client.download import sha256_of
from chordshare.client.rest import NodeApi
from chordshare.errors import IntegrityError, NotFound

FILE_NAME = "holiday-video.mkv"
FILE_BYTES = 6 << 20
"""6 MiB: 24 pieces of 256 KiB, enough to spread over four providers, quick to hash and send."""
PIECE_BYTES = 256 << 10
"""Piece size of the demo's nodes (the default is 1 MiB): more pieces to share out."""
FIND_TIMEOUT = 20.0
"""Seconds for a record to become findable: published when its node is ready, so normally at
once; the margin covers a ring still settling on two loaded cores."""

SETTINGS: dict[str, object] = {
    "piece_size": PIECE_BYTES,
    "rescan_interval": 1.0,
    "max_file_bytes": 1 << 30,  # 4,096 pieces of 256 KiB: a piece list fits one DHT record
}
"""Config values the demo's nodes get for file sharing."""


@dataclass(frozen=True, slots=True)
class Planted:
    path: Path
    sha256: str

    @property
    def name(self) -> str:
        return self.path.name


def plant(workdir: Path, node: NodeProcess, seed: int = 2024) -> Planted:
    """Write :data:`FILE_BYTES` random bytes as :data:`FILE_NAME` into ``node``'s shared
    directory (``<workdir>/<node name>/shared``, as :class:`LocalCluster` configures it)."""
    shared = workdir / node.name / "shared"
    shared.mkdir(parents=True, exist_ok=True)
    data = random.Random(seed).randbytes(FILE_BYTES)
    path = shared / FILE_NAME
    path.write_bytes(data)
    return Planted(path, hashlib.sha256(data).hexdigest())


def _find(node: NodeProcess, name: str, providers: int) -> NetworkFile:
    try:
        with NodeApi(node.url) as api:
            answer = api.network_file(name)
    except NotFound as exc:
        raise NotYet(str(exc)) from exc
    have = len(answer.records[0].providers)
    if have < providers:
        raise NotYet(f"{have} providers so far")
    return answer


def find(node: NodeProcess, name: str, providers: int = 1) -> NetworkFile:
    """Poll ``node`` until the network knows ``name`` with ``providers`` providers."""
    return wait_until(
        lambda: _find(node, name, providers), FIND_TIMEOUT, f"{name} findable from {node.name}"
    )


def show_files(
    members: list[NodeProcess], planted: Planted, into: Path, console: Console, token: str
) -> None:
    """Search, upload to more providers (with the nodes' API ``token``), download from all of
    them, verify."""
    sharer, searcher, uploader = members[0], members[-1], members[1]
    downloader = members[-2]
    name = planted.name

    console.rule(
        f"File sharing: {name} ({render.size_text(FILE_BYTES)}) is in {sharer.name}'s shared "
        "directory"
    )
    console.print(f"$ chordshare show {name} --node {searcher.url}   # asked {searcher.name}")
    console.print(render.record_table(find(searcher, name)))

    console.rule(f"Upload: the same file, put through {uploader.name}, goes to its name's holders")
    console.print(f"$ chordshare put {name} --node {uploader.url}")
    with planted.path.open("rb") as handle, NodeApi(uploader.url, token=token) as api:
        stored = send(api, handle, name, FILE_BYTES, console)
    console.print(render.upload_table(stored))
    holders = {h.grpc_address for h in stored.holders} | {f"{sharer.host}:{sharer.grpc_port}"}

    console.rule(
        f"Download through {downloader.name}: pieces straight from every provider over gRPC"
    )
    console.print(f"$ chordshare get {name} --node {downloader.url} -o {into}")
    answer = find(downloader, name, providers=len(holders))
    report = fetch_with_bar(answer.records[0], into / name, console)
    console.print(render.download_table(report))
    console.print(render.download_line(report), soft_wrap=True)
    copy = sha256_of(Path(report.path))
    if copy != planted.sha256:
        raise IntegrityError(f"the copy's SHA-256 {copy} differs from the original's")
    console.print(f"SHA-256 of the original {planted.sha256}", soft_wrap=True)
    console.print(f"SHA-256 of the copy     {copy}  [bold green]identical[/]", soft_wrap=True)
