"""The download half of ``chordshare get``: from a located record to a verified file on disk.

The record comes from any node over REST (``GET /api/v1/network/files/{name}``); the bytes come
straight from the record's providers over gRPC, in parallel, through
:func:`chordshare.node.transfer.download.download_file`: every piece verified against its SHA-256,
written into ``<dest>.part`` with a log of verified pieces, renamed into place when whole. An
interrupted run (Ctrl-C, SIGKILL, a crash) leaves the partial file and its log; the next run
re-verifies the logged pieces and fetches only the rest.

gRPC is imported only when a download starts, so the other client commands stay quick to start.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import time
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterator
from contextlib import aclosing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from chordshare.api.schemas.files import FileRecordView
from chordshare.clock import Clock, SystemClock
from chordshare.errors import ChordshareError, InvalidInput, PeerProtocolError, StorageError
from chordshare.model.manifest import FileManifest, FileRecord
from chordshare.model.names import path_in, validate_name
from chordshare.node.transfer.download import DownloadReport, DownloadSettings, download_file
from chordshare.ring import PeerRef
from chordshare.storage.files.partial import OrderedDigest
from chordshare.storage.files.pieces import hash_file
from chordshare.transport.ports.transfer import Chunk, TransferClient

MIB = 1 << 20
MIN_BATCHES = 16
"""A download is cut into at least this many batches (one gRPC stream each, whole pieces), so a
file held by three or four providers is spread over all of them even when it is only a few
pieces long, and a batch lost with its provider is cheap to fetch again."""
MAX_BATCH_BYTES = 16 * MIB
"""Upper bound of a batch: the library's default, where the set-up of a stream is amortized."""

ProgressCallback = Callable[[int, int], None]
"""Told ``(bytes done, bytes in all)`` as verified pieces land (the CLI draws a bar with it)."""

# -- where the file goes ----------------------------------------------------------------------


def destination(output: Path | None, name: str) -> Path:
    """The file ``get`` writes: ``./NAME`` by default, ``DIR/NAME`` when ``-o`` is a directory,
    else ``-o`` itself (its directory must exist). ``name`` is checked to be a display name, so
    a name from the network never becomes a path."""
    name = validate_name(name)
    if output is None:
        return path_in(Path.cwd(), name)
    if output.is_dir():
        return path_in(output, name)
    if str(output).endswith(os.sep):
        raise InvalidInput(f"{output}: no such directory")
    if not output.parent.is_dir():
        raise InvalidInput(f"{output.parent}: no such directory")
    return output


def same_content(path: Path, manifest: FileManifest) -> bool | None:
    """Whether the existing ``path`` already holds ``manifest``'s bytes (None: nothing there).
    A file of the right size is hashed piece by piece as the network hashes it."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StorageError(f"cannot inspect {path}: {exc.strerror or exc}") from exc
    if not path.is_file() or st.st_size != manifest.size:
        return False
    try:
        return hash_file(path, manifest.name, manifest.piece_size) == manifest
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from exc


@contextmanager
def exclusive(dest: Path) -> Iterator[int]:
    """Hold an advisory lock on ``<dest>.part`` (creating it) for the whole download, so that a
    second ``get`` into the same file fails at once instead of racing the first one's rename.
    The lock is released with the descriptor, so a killed ``get`` leaves no stale lock. Yields
    the descriptor (of the file the download assembles, whatever its path becomes)."""
    part = dest.with_name(dest.name + ".part")
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(part, flags, 0o644)
    except OSError as exc:
        raise StorageError(f"cannot create {part}: {exc.strerror or exc}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise InvalidInput(f"another chordshare get is writing {dest}") from exc
        yield fd
    finally:
        os.close(fd)


def sha256_of(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# -- what get reports -------------------------------------------------------------------------


class ProviderPieces(BaseModel):
    node_id: str
    grpc_address: str
    pieces: int


class BadProvider(BaseModel):
    node_id: str
    grpc_address: str
    reason: str


class GetReport(BaseModel):
    """What ``chordshare get --json`` prints."""

    name: str
    path: str
    size: int
    content_hash: str
    sha256: str | None
    """SHA-256 of the whole file as written, when asked for (``get --sha256``; else null):
    hashed in file order while the download went on (:class:`OrderedDigest`). Every piece was
    verified against the record on receipt already; this is for comparing with a SHA-256
    published elsewhere, and costs about a core-second per GiB, so it is not done unasked."""
    pieces: int
    resumed_pieces: int
    """Pieces found verified in the partial file of an interrupted earlier run."""
    fetched_pieces: int
    """Pieces that moved over the network in this run."""
    providers: list[ProviderPieces]
    """Every provider that served pieces in this run, with how many."""
    bad_providers: list[BadProvider]
    already_present: bool
    """The destination already held these bytes: nothing was fetched."""
    seconds: float
    mib_per_s: float
    """Fetched bytes per second of transfer (hashing the whole file afterwards excluded)."""


def report_of(
    view: FileRecordView,
    result: DownloadReport | None,
    path: Path,
    seconds: float,
    sha256: str | None = None,
) -> GetReport:
    """The report of a download (``result``; None: the file was there already), with the
    ``sha256`` hashed meanwhile (None: not asked for)."""
    by_id = {int(p.node_id, 16): p for p in view.providers}
    manifest = view.to_record().manifest

    def address(node_id: int) -> str:
        provider = by_id.get(node_id)
        return provider.grpc_address if provider is not None else "?"

    def hex_id(node_id: int) -> str:
        provider = by_id.get(node_id)
        return provider.node_id if provider is not None else format(node_id, "x")

    fetched = result.fetched_pieces if result else 0
    fetched_bytes = sum(
        n * manifest.piece_size for n in (result.pieces_from.values() if result else ())
    )
    fetched_bytes = min(fetched_bytes, manifest.size)
    return GetReport(
        name=manifest.name,
        path=str(path),
        size=manifest.size,
        content_hash=manifest.content_hash.hex(),
        sha256=sha256,
        pieces=manifest.pieces,
        resumed_pieces=result.resumed_pieces if result else 0,
        fetched_pieces=fetched,
        providers=[
            ProviderPieces(node_id=hex_id(i), grpc_address=address(i), pieces=n)
            for i, n in sorted((result.pieces_from if result else {}).items())
        ],
        bad_providers=[
            BadProvider(node_id=hex_id(i), grpc_address=address(i), reason=why)
            for i, why in sorted((result.bad_providers if result else {}).items())
        ],
        already_present=result is None,
        seconds=round(seconds, 3),
        mib_per_s=round(fetched_bytes / MIB / seconds, 1) if seconds > 0 and fetched else 0.0,
    )


# -- fetching ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Paced:
    """A :class:`TransferClient` that keeps downloads, over all streams together, under
    ``rate`` bytes per second (``get --limit-rate``): each chunk takes the next free slot on a
    shared timeline and is handed on when its slot begins."""

    inner: TransferClient
    rate: float
    clock: Clock = field(default_factory=SystemClock)
    _free_at: float = 0.0

    async def _pace(self, size: int) -> None:
        now = self.clock.now()
        start = max(now, self._free_at)
        self._free_at = start + size / self.rate
        if start > now:
            await self.clock.sleep(start - now)

    async def download(
        self, peer: PeerRef, content_hash: bytes, first_piece: int, piece_count: int
    ) -> AsyncGenerator[Chunk, None]:
        stream = self.inner.download(peer, content_hash, first_piece, piece_count)
        async with aclosing(stream):
            async for chunk in stream:
                await self._pace(memoryview(chunk.data).nbytes)
                yield chunk

    async def upload(
        self,
        peer: PeerRef,
        manifest: FileManifest,
        chunks: AsyncIterable[Chunk],
        removal_keys: tuple[bytes, ...] = (),
    ) -> PeerRef:
        return await self.inner.upload(peer, manifest, chunks, removal_keys)

    async def remove(self, peer: PeerRef, name: str, content_hash: bytes, secret: bytes) -> bool:
        return await self.inner.remove(peer, name, content_hash, secret)

    async def removal_keys(
        self, peer: PeerRef, name: str, content_hash: bytes
    ) -> tuple[bytes, ...]:
        return await self.inner.removal_keys(peer, name, content_hash)


def settings_for(manifest: FileManifest) -> DownloadSettings:
    """At least :data:`MIN_BATCHES` batches of whole pieces, at most 16 MiB each."""
    batch = max(manifest.piece_size, min(MAX_BATCH_BYTES, manifest.size // MIN_BATCHES))
    return DownloadSettings(batch_bytes=batch)


@dataclass(slots=True)
class Progressed:
    """The last progress a download reported (for the line printed when it is interrupted)."""

    done: int = 0
    total: int = 0


async def _fetch(
    record: FileRecord,
    dest: Path,
    progress: ProgressCallback | None,
    seen: Progressed,
    rate: float | None,
    settings: DownloadSettings | None,
    digest: OrderedDigest | None,
) -> tuple[DownloadReport, float, str | None]:
    """The download's report, its seconds (from the first request on: not counting the
    import of gRPC or the set-up of the event loop) and the file's SHA-256 when asked for
    (``digest``'s, which is told of every piece as it is verified)."""
    from chordshare.model.limits import MAX_MESSAGE_BYTES
    from chordshare.transport.grpc.channels import ChannelCache
    from chordshare.transport.grpc.options import channel_options
    from chordshare.transport.grpc.tls import tls_from_environment
    from chordshare.transport.grpc.transfer.client import GrpcTransferClient

    def step(done: int, total: int) -> None:
        seen.done, seen.total = done, total
        if progress is not None:
            progress(done, total)

    tls = tls_from_environment()  # nodes with TLS between them serve only their CA's certs
    channels = None
    if tls is not None:
        channels = ChannelCache(channel_options(MAX_MESSAGE_BYTES))
        channels.secure(tls)
    grpc_client = GrpcTransferClient(channels=channels)
    client: TransferClient = grpc_client if rate is None else Paced(grpc_client, rate)
    began = time.monotonic()
    try:
        report = await download_file(
            client,
            record,
            dest,
            settings=settings or settings_for(record.manifest),
            progress=step,
            on_piece=digest.verified if digest is not None else None,
        )
        seconds = time.monotonic() - began
        sha256 = None
        if digest is not None:  # the last pieces' worth, at most
            sha256 = await asyncio.to_thread(digest.hexdigest)
    finally:
        await grpc_client.close()
        if channels is not None:
            await channels.close()
    return report, seconds, sha256


def fetch(
    view: FileRecordView,
    dest: Path,
    *,
    progress: ProgressCallback | None = None,
    force: bool = False,
    rate: float | None = None,
    settings: DownloadSettings | None = None,
    seen: Progressed | None = None,
    sha256: bool = False,
) -> GetReport:
    """Download the file of record ``view`` to ``dest``, telling ``progress`` as it goes; the
    report, with the whole file's SHA-256 when ``sha256``.

    An existing file with the same content is kept (nothing fetched); one with other content is
    an error unless ``force``. Raises :class:`KeyboardInterrupt` on Ctrl-C (the partial file
    stays for a resume) and chordshare errors for everything else."""
    seen = seen if seen is not None else Progressed()
    record = domain_record(view)
    present = same_content(dest, record.manifest)
    if present:
        return report_of(view, None, dest, 0.0, sha256_of(dest) if sha256 else None)
    if present is False and not force:
        raise InvalidInput(f"{dest} exists with other content; use --force to replace it")
    with exclusive(dest) as fd:
        digest = OrderedDigest(record.manifest, fd) if sha256 else None
        try:
            result, seconds, whole = asyncio.run(
                _fetch(record, dest, progress, seen, rate, settings, digest)
            )
        except ChordshareError as exc:
            if seen.total and not seen.done:
                _remove_partial(dest)
            raise failed_download(exc, dest, seen) from exc
        finally:
            if digest is not None:  # done already when it succeeded; before the fd closes
                digest.stop()
    return report_of(view, result, result.path, seconds, whole)


def failed_download(exc: ChordshareError, dest: Path, seen: Progressed) -> ChordshareError:
    """``exc``, of the same type, with what the failed download left behind: the verified
    pieces kept in ``<dest>.part`` for a resume, or nothing (the caller removed a partial file
    that held no verified piece, which could never complete by itself)."""
    if seen.done:
        left = (
            f"{seen.done / MIB:.1f} MiB of {seen.total / MIB:.1f} MiB verified and kept in "
            f"{dest}.part; run the same command again to fetch only the rest"
        )
    elif seen.total:
        left = "nothing was saved"
    else:
        return exc
    return type(exc)(f"{exc}; {left}")


def _remove_partial(dest: Path) -> None:
    for leftover in (dest.with_name(dest.name + ".part"), dest.with_name(dest.name + ".part.have")):
        try:
            leftover.unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot remove {leftover}: {exc.strerror or exc}") from exc


def domain_record(view: FileRecordView) -> FileRecord:
    """The record a node answered, checked: a display name, hashes that fit the size and add up
    to the content hash (else PeerProtocolError: the node broke the contract)."""
    validate_name(view.name)
    try:
        return view.to_record()
    except ValueError as exc:
        raise PeerProtocolError(f"the node answered an inconsistent record: {exc}") from exc
