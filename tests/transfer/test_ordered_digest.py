"""The whole-file SHA-256 hashed while a download goes on (:class:`OrderedDigest`, what ``get``
reports): it equals the SHA-256 of the bytes finally written whatever order the pieces land in,
with a provider that lies (its refused bytes are never hashed), and across a resume."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chordshare.errors import TransferError
from chordshare.model.manifest import MIN_PIECE_SIZE, FileRecord
from chordshare.node.transfer.download import DownloadSettings, download_file
from chordshare.storage.files.partial import OrderedDigest
from chordshare.storage.files.pieces import PieceHasher
from chordshare.transport.grpc.transfer.client import GrpcTransferClient

from .conftest import SMALL_PIECE, NodeFactory, data_of, record_for
from .test_multisource import Corrupting, manifest_of, shared_by

PIECES = 40


def open_copy(tmp_path: Path, content: bytes) -> int:
    path = tmp_path / "copy.bin"
    path.write_bytes(content)
    return os.open(path, os.O_RDONLY)


@settings(max_examples=25, deadline=None)
@given(size=st.integers(0, 9 * MIN_PIECE_SIZE + 7), seed=st.integers(0, 2**32))
def test_any_order_of_pieces_gives_the_sha256_of_the_file(
    size: int, seed: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    content = data_of(size, seed)
    hasher = PieceHasher(MIN_PIECE_SIZE)
    hasher.update(content)
    manifest = hasher.manifest("f.bin")
    fd = open_copy(tmp_path_factory.mktemp("digest"), content)
    try:
        digest = OrderedDigest(manifest, fd)
        order = list(range(manifest.pieces))
        random.Random(seed).shuffle(order)
        for piece in order:
            digest.verified(piece)
        assert digest.hexdigest() == hashlib.sha256(content).hexdigest()
    finally:
        os.close(fd)


def test_stopped_before_the_last_piece_it_gives_no_digest(tmp_path: Path) -> None:
    content = data_of(4 * MIN_PIECE_SIZE)
    hasher = PieceHasher(MIN_PIECE_SIZE)
    hasher.update(content)
    fd = open_copy(tmp_path, content)
    try:
        digest = OrderedDigest(hasher.manifest("f.bin"), fd)
        digest.verified(0)
        digest.verified(2)  # piece 1 never comes: the download failed
        digest.stop()
        with pytest.raises(TransferError, match="stopped"):
            digest.hexdigest()
    finally:
        os.close(fd)


async def download_with_digest(
    client: GrpcTransferClient, record: FileRecord, dest: Path, download: DownloadSettings
) -> str:
    """What ``get`` does: the digest follows the download through ``on_piece``."""
    part = dest.with_name(dest.name + ".part")
    fd = os.open(part, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        digest = OrderedDigest(record.manifest, fd)
        try:
            await download_file(
                client,
                record,
                dest,
                settings=download,
                on_piece=digest.verified,
            )
            return await asyncio.to_thread(digest.hexdigest)
        finally:
            digest.stop()
    finally:
        os.close(fd)


@pytest.mark.parametrize("offload", [False, True], ids=["inline", "offload"])
async def test_a_lying_provider_is_blamed_and_the_digest_is_of_the_true_bytes(
    grpc_nodes: NodeFactory, client: GrpcTransferClient, tmp_path: Path, offload: bool
) -> None:
    content = data_of(PIECES * SMALL_PIECE + 99, seed=5)
    good = await shared_by(grpc_nodes, 1, content)
    bad = await grpc_nodes(wrap=Corrupting)
    bad.share("f.bin", content, SMALL_PIECE)
    record = record_for(manifest_of(good[0]), bad, *good)
    download = DownloadSettings(batch_bytes=2 * SMALL_PIECE, max_streams=4, offload=offload)

    sha = await download_with_digest(client, record, tmp_path / "f.bin", download)

    assert sha == hashlib.sha256(content).hexdigest()
    assert (tmp_path / "f.bin").read_bytes() == content


async def test_after_a_resume_the_digest_covers_the_pieces_kept_from_before(
    grpc_nodes: NodeFactory, client: GrpcTransferClient, tmp_path: Path
) -> None:
    content = data_of(PIECES * SMALL_PIECE + 5, seed=6)
    (node,) = await shared_by(grpc_nodes, 1, content)
    record = record_for(manifest_of(node), node)
    dest = tmp_path / "f.bin"
    download = DownloadSettings(batch_bytes=2 * SMALL_PIECE, max_streams=1)
    halfway = asyncio.Event()

    def progress(done: int, total: int) -> None:
        if done >= total // 2:
            halfway.set()

    first = asyncio.create_task(
        download_file(client, record, dest, settings=download, progress=progress)
    )
    await halfway.wait()
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    served_before = node.service.stats.pieces_served

    sha = await download_with_digest(client, record, dest, download)

    assert sha == hashlib.sha256(content).hexdigest()
    assert node.service.stats.pieces_served - served_before < record.manifest.pieces
