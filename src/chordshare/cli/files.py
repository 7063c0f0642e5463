"""File commands: ``ls`` (``--network``), ``search``, ``show``, ``get`` and ``put``.

Like the other client commands they take ``--node URL`` (default ``$CHORDSHARE_NODE``, else
http://127.0.0.1:8000) and ``--json``. ``ls``, ``search`` (names by their words), ``show`` (one
name's record) and ``put`` only talk REST to that node. ``get`` asks it where the file is
(``GET /api/v1/network/files/{name}``) and then fetches the pieces straight from the providers
over gRPC, several at once, each verified (see :mod:`chordshare.client.download`): the node
asked moves no bytes. ``put`` streams the file as the body of ``PUT
/api/v1/network/files/{name}``; the node stores it on the name's k holders.

Progress bars go to stderr and only on a terminal, so ``--json`` output stays clean. Every
failure is one line on stderr: status 1 for errors (unknown file, bad name, node unreachable,
every provider down), 130 for Ctrl-C (a download keeps its verified pieces for the next run).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer

from chordshare.cli.client import (
    DEFAULT_NODE,
    TIMEOUT,
    ConfigOption,
    JsonOption,
    NodeOption,
    TokenOption,
    connected,
    owner_token,
    show,
)
from chordshare.cli.report import RUNTIME_ERROR_STATUS, fail
from chordshare.cli.terminal import console
from chordshare.client.files import READ_BYTES
from chordshare.client.lazy import lazy_module
from chordshare.client.rest import NodeApi
from chordshare.errors import ChordshareError, InvalidName, NotFound
from chordshare.model.limits import MIN_UPLOAD_RATE
from chordshare.model.names import DisplayName, validate_name

if TYPE_CHECKING:
    from rich.console import Console

    from chordshare.api.schemas.files import FileRecordView, NetworkFile, UploadAnswer
    from chordshare.cli import files_render as render
    from chordshare.cli import progress, search_render
    from chordshare.client import download
else:  # loaded when used: rich and the schemas once there is an answer, downloads by get
    render = lazy_module("chordshare.cli.files_render")
    search_render = lazy_module("chordshare.cli.search_render")
    progress = lazy_module("chordshare.cli.progress")
    download = lazy_module("chordshare.client.download")

MAX_SEARCH_PAGE = 200
"""Most names a search page holds: the node's limit, ``chordshare.api.schemas.search``'s
``MAX_SEARCH_PAGE`` (``tests/cli`` checks that they agree), spelled here because ``--limit``
needs it when the command is defined and that module's models are not needed until an
answer is in."""

AMBIGUOUS_STATUS = 2
"""``get`` of a name several contents share, without ``--hash``: a usage error, like a bad
option (Typer's status 2)."""

INTERRUPTED_STATUS = 130
"""128 + SIGINT, the shell's status for a command stopped by Ctrl-C."""

app = typer.Typer()

NameArgument = Annotated[str, typer.Argument(help="The file's name in the network.")]
DEFAULT_PAGE = 50
LimitOption = Annotated[
    int, typer.Option("--limit", min=1, max=MAX_SEARCH_PAGE, help="Most names.")
]
OffsetOption = Annotated[int, typer.Option("--offset", min=0, help="Names to skip.")]
AllOption = Annotated[bool, typer.Option("--all", help="Every name, page after page.")]


def _check_name(name: str, what: str = "name") -> DisplayName:
    try:
        return validate_name(name)
    except InvalidName as exc:
        fail(f"bad {what} {name!r}: {exc}", RUNTIME_ERROR_STATUS)


@app.command("ls")
def ls(
    node: NodeOption = DEFAULT_NODE,
    as_json: JsonOption = False,
    network: Annotated[
        bool, typer.Option("--network", help="List the names known to the whole network.")
    ] = False,
    limit: LimitOption = DEFAULT_PAGE,
    offset: OffsetOption = 0,
    every: AllOption = False,
) -> None:
    """The files the node shares or holds: name, size, content hash, URI. With --network, the
    names known anywhere in the network, sorted (a page: --limit, --offset, or --all)."""
    if not network:
        with connected(node) as api:
            show(api.files(), as_json, lambda held: render.held_table(held))
        return
    with connected(node) as api:
        names = network_names(api, offset, None if every else limit)
    if as_json:
        typer.echo(json.dumps({"offset": offset, "names": names}, indent=2))
        return
    console().print(search_render.names_table(names, offset))


def network_names(api: NodeApi, offset: int, limit: int | None) -> list[str]:
    """Names ``offset`` to ``offset + limit`` (to the end with ``None``) of the network's sorted
    names, read in pages by the listing's ``after`` cursor."""
    # imported here: the records port loads the ring package, which get does not need
    from chordshare.transport.ports.records import MAX_NAMES_PER_CALL

    out: list[str] = []
    after = ""
    skip = offset
    while limit is None or len(out) < limit:
        page = api.network_files(after, MAX_NAMES_PER_CALL)
        names = page.names[skip:]
        skip = max(0, skip - len(page.names))
        out += names if limit is None else names[: limit - len(out)]
        if page.next_after is None:
            break
        after = page.next_after
    return out


@app.command("search")
def search(
    words: Annotated[list[str], typer.Argument(help="Words the names must all contain.")],
    node: NodeOption = DEFAULT_NODE,
    as_json: JsonOption = False,
    limit: LimitOption = DEFAULT_PAGE,
    offset: OffsetOption = 0,
    every: AllOption = False,
) -> None:
    """Find the names that contain every one of WORDS (case does not matter; `random20.bin`
    has the words random, 20 and bin), each with its contents: hash, size, providers."""
    query = " ".join(words)
    with connected(node) as api:
        first = api.search(query, offset, MAX_SEARCH_PAGE if every else limit)
        hits = list(first.names)
        while every and first.next_offset is not None:
            first = api.search(query, first.next_offset, MAX_SEARCH_PAGE)
            hits += first.names
    if as_json:
        answer = first.model_copy(
            update={
                "names": hits,
                "offset": offset,
                "next_offset": None if every else first.next_offset,
            }
        )
        typer.echo(answer.model_dump_json(indent=2))
        return
    console().print(search_render.search_table(query, hits, first.total, offset))


@app.command("show")
def show_record(
    name: NameArgument, node: NodeOption = DEFAULT_NODE, as_json: JsonOption = False
) -> None:
    """The record of NAME: each content published under it, its providers and their URIs."""
    name = _check_name(name)
    with connected(node) as api:
        show(api.network_file(name), as_json, lambda record: render.record_table(record))


def pick(answer: NetworkFile, content_hash: str | None) -> FileRecordView:
    """The record whose content hash starts with ``content_hash``, or the only record."""
    if content_hash is None:
        if len(answer.records) > 1:
            raise Ambiguous(answer.name, answer.records)
        return answer.records[0]
    wanted = content_hash.lower()
    found = [r for r in answer.records if r.content_hash.startswith(wanted)]
    if len(found) != 1:
        which = "no" if not found else "more than one"
        raise NotFound(f"{answer.name}: {which} record has a content hash starting {wanted!r}")
    return found[0]


class Ambiguous(ChordshareError):
    """Several contents share the name and nothing says which one to take."""

    def __init__(self, name: str, records: list[FileRecordView]) -> None:
        lines = "\n".join(
            f"  {r.content_hash}  {render.size_text(r.size)}  {len(r.providers)} providers"
            for r in records
        )
        super().__init__(
            f"{len(records)} different files are named {name!r}:\n{lines}\n"
            "choose one with --hash HASH (a prefix will do)"
        )


def choose(answer: NetworkFile, content_hash: str | None, held: set[str]) -> FileRecordView:
    """:func:`pick`, except that of several contents the one the node asked holds itself
    (``held``: the content hashes of its copies of the name) is taken when it holds exactly
    one of them, and stderr says so."""
    try:
        return pick(answer, content_hash)
    except Ambiguous:
        mine = [r for r in answer.records if r.content_hash in held]
        if len(mine) != 1:
            raise
        console(stderr=True).print(
            f"{len(answer.records)} different files are named {answer.name!r}; taking "
            f"{mine[0].content_hash}, the one this node holds (choose another with --hash)",
            soft_wrap=True,
        )
        return mine[0]


@app.command("get")
def get(
    name: NameArgument,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="File to write, or a directory to write NAME into (default: ./NAME).",
        ),
    ] = None,
    node: NodeOption = DEFAULT_NODE,
    as_json: JsonOption = False,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Replace an existing file with other content.")
    ] = False,
    content_hash: Annotated[
        str | None,
        typer.Option(
            "--hash", help="When several files share NAME, the content hash (or a prefix) to get."
        ),
    ] = None,
    limit_rate: Annotated[
        str | None,
        typer.Option(
            "--limit-rate", metavar="RATE", help="Most bytes per second, e.g. 20M or 500K."
        ),
    ] = None,
    sha256: Annotated[
        bool,
        typer.Option(
            "--sha256",
            help="Also report the whole file's SHA-256, hashed during the download (every "
            "piece is verified anyway; this costs about a core-second per GiB).",
        ),
    ] = False,
) -> None:
    """Download NAME: located through the node, fetched from the providers over gRPC in
    parallel, every piece verified. Interrupted, it resumes where it stopped when run again."""
    name = _check_name(name)
    seen = download.Progressed()
    dest: Path | None = None
    try:
        rate = progress.parse_size(limit_rate) if limit_rate is not None else None
        with connected(node) as api:
            answer = api.network_file(name)
            several = content_hash is None and len(answer.records) > 1
            held = (
                {f.content_hash for f in api.files().files if f.name == name} if several else set()
            )
        view = choose(answer, content_hash, held)
        dest = download.destination(output, name)
        report = progress.fetch_with_bar(
            view, dest, console(stderr=True), force=force, rate=rate, seen=seen, sha256=sha256
        )
    except KeyboardInterrupt:
        fail(_interrupted(dest, seen), INTERRUPTED_STATUS)
    except Ambiguous as exc:
        fail(str(exc), AMBIGUOUS_STATUS)
    except ChordshareError as exc:
        fail(str(exc), RUNTIME_ERROR_STATUS)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    out = console()
    if report.providers or report.bad_providers:
        out.print(render.download_table(report))
    out.print(render.download_line(report), soft_wrap=True)


def _interrupted(dest: Path | None, seen: download.Progressed) -> str:
    if dest is None or not seen.total:
        return "interrupted"
    return (
        f"interrupted with {render.size_text(seen.done)} of {render.size_text(seen.total)} "
        f"verified in {dest}.part; run the same command again to fetch only the rest"
    )


@app.command("put")
def put(
    file: Annotated[Path, typer.Argument(help="The file to upload.", show_default=False)],
    name: Annotated[
        str | None, typer.Option("--name", help="Its name in the network (default: FILE's name).")
    ] = None,
    node: NodeOption = DEFAULT_NODE,
    as_json: JsonOption = False,
    token: TokenOption = None,
    config: ConfigOption = None,
) -> None:
    """Upload FILE into the network through the node: it is stored on the k nodes that hold
    its name (owner and successors), which then provide it; prints them. Needs the node's API
    token: --token, $CHORDSHARE_API_TOKEN, or the token of the node --config describes (by
    default ./data/api_token, where `chordshare node` run here keeps it)."""
    name = _check_name(name if name is not None else file.name)
    secret = owner_token(token, config)
    try:
        size = file.stat().st_size
        if not file.is_file():
            fail(f"{file}: not a regular file", RUNTIME_ERROR_STATUS)
        handle = file.open("rb")
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}", RUNTIME_ERROR_STATUS)
    began = time.monotonic()
    try:
        with handle, connected(node, secret) as api:
            answer = send(api, handle, name, size, console(stderr=True))
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}", RUNTIME_ERROR_STATUS)
    except KeyboardInterrupt:
        fail(
            f"interrupted: the upload may not have finished; `chordshare show {name}` tells",
            INTERRUPTED_STATUS,
        )
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
        return
    seconds = time.monotonic() - began
    out = console()
    out.print(render.upload_table(answer))
    out.print(
        f"uploaded {render.size_text(size)} in {seconds:.2f} s "
        f"({size / (1 << 20) / max(seconds, 1e-9):.1f} MiB/s)",
        soft_wrap=True,
    )
    if answer.removal_secret is not None:
        out.print(
            f"removal secret: {answer.removal_secret} (`chordshare rm {name}` on this node "
            "needs none; keep it to remove the upload through another node with --secret)",
            soft_wrap=True,
            highlight=False,
        )


def _upload_timeout(size: int) -> float:
    return TIMEOUT + size / MIN_UPLOAD_RATE


def send(api: NodeApi, handle: BinaryIO, name: str, size: int, console: Console) -> UploadAnswer:
    """Stream ``size`` bytes from ``handle`` as ``name`` through the node, with a progress bar
    of the bytes sent, then of the wait while the holders store and verify them."""
    with progress.progress_bar(console) as bar:
        task = bar.add_task(name, total=size)

        def sent(done: int) -> None:
            bar.update(task, completed=done)
            if done >= size:
                bar.update(task, description=f"{name}: holders storing and verifying")

        def body() -> Iterator[bytes]:
            while block := handle.read(READ_BYTES):
                yield block

        return api.put(name, body(), size=size, timeout=_upload_timeout(size), on_progress=sent)
