"""Downloads from several providers: spread, corruption, a provider dying, resume."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path

import pytest

from chordshare.errors import TransferError
from chordshare.model.manifest import FileManifest
from chordshare.node.transfer.download import DownloadSettings, download_file
from chordshare.node.transfer.serve import FileTransferService
from chordshare.ring import PeerRef
from chordshare.transport.grpc.transfer.client import GrpcTransferClient
from chordshare.transport.ports.transfer import Chunk

from .conftest import SMALL_PIECE, GrpcNode, NodeFactory, data_of, record_for

PIECES = 48


@pytest.fixture(params=[False, True], ids=["inline", "offload"])
def settings(request: pytest.FixtureRequest) -> DownloadSettings:
    """Two pieces per stream (many batches, so every provider gets several); chunks hashed and
    written on the event loop or on worker threads."""
    return DownloadSettings(batch_bytes=2 * SMALL_PIECE, max_streams=4, offload=request.param)


@pytest.fixture(params=[False, True], ids=["inline", "offload"])
def offload(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


async def shared_by(make: NodeFactory, count: int, content: bytes) -> list[GrpcNode]:
    nodes = [await make() for _ in range(count)]
    for node in nodes:
        node.share("f.bin", content, SMALL_PIECE)
    return nodes


def manifest_of(node: GrpcNode) -> FileManifest:
    assert node.service.index is not None
    found = node.service.index.by_name("f.bin")
    assert found is not None
    return found.manifest


async def test_three_providers_all_serve(
    grpc_nodes: NodeFactory,
    client: GrpcTransferClient,
    tmp_path: Path,
    settings: DownloadSettings,
) -> None:
    content = data_of(PIECES * SMALL_PIECE, seed=1)
    nodes = await shared_by(grpc_nodes, 3, content)
    record = record_for(manifest_of(nodes[0]), *nodes)

    report = await download_file(client, record, tmp_path / "f.bin", settings=settings)

    assert (tmp_path / "f.bin").read_bytes() == content
    assert set(report.pieces_from) == {n.ref.id for n in nodes}
    assert all(count > 0 for count in report.pieces_from.values())
    assert sum(report.pieces_from.values()) == PIECES
    # what each provider says it served matches what the downloader counted from it
    assert {n.ref.id: n.service.stats.pieces_served for n in nodes} == report.pieces_from
    assert report.bad_providers == {}


class Corrupting:
    """A provider that serves every piece with one byte flipped."""

    def __init__(self, inner: FileTransferService) -> None:
        self.inner = inner

    async def download(
        self, content_hash: bytes, first_piece: int, piece_count: int, *, peer: str
    ) -> AsyncGenerator[Chunk, None]:
        async for chunk in self.inner.download(content_hash, first_piece, piece_count, peer=peer):
            data = bytearray(chunk.data)
            data[0] ^= 0xFF
            yield Chunk(chunk.piece, chunk.offset, bytes(data))

    async def upload(
        self, manifest: FileManifest, chunks: AsyncIterator[Chunk], *, peer: str
    ) -> PeerRef:
        return await self.inner.upload(manifest, chunks, peer=peer)


async def test_corrupt_provider_is_dropped_and_bytes_are_right(
    grpc_nodes: NodeFactory,
    client: GrpcTransferClient,
    tmp_path: Path,
    settings: DownloadSettings,
) -> None:
    content = data_of(PIECES * SMALL_PIECE + 99, seed=2)
    good = await shared_by(grpc_nodes, 2, content)
    bad = await grpc_nodes(wrap=Corrupting)
    bad.share("f.bin", content, SMALL_PIECE)
    record = record_for(manifest_of(good[0]), bad, *good)

    report = await download_file(client, record, tmp_path / "f.bin", settings=settings)

    assert (tmp_path / "f.bin").read_bytes() == content
    assert set(report.bad_providers) == {bad.ref.id}
    assert "IntegrityError" in report.bad_providers[bad.ref.id]
    assert bad.ref.id not in report.pieces_from
    assert bad.service.stats.pieces_served >= 1  # it was asked, and its bytes were refused


async def test_provider_killed_mid_transfer_costs_a_retry_not_the_download(
    grpc_nodes: NodeFactory,
    client: GrpcTransferClient,
    tmp_path: Path,
    settings: DownloadSettings,
) -> None:
    content = data_of(PIECES * SMALL_PIECE, seed=3)
    nodes = await shared_by(grpc_nodes, 3, content)
    victim = nodes[1]
    killed: list[asyncio.Task[None]] = []

    def progress(done: int, total: int) -> None:
        if done and not killed:  # at the first verified piece, while every provider streams
            killed.append(asyncio.get_running_loop().create_task(victim.stop()))

    record = record_for(manifest_of(nodes[0]), *nodes)
    report = await download_file(
        client, record, tmp_path / "f.bin", settings=settings, progress=progress
    )
    await killed[0]

    assert (tmp_path / "f.bin").read_bytes() == content
    assert set(report.bad_providers) == {victim.ref.id}
    assert sum(report.pieces_from.values()) == PIECES


async def test_resume_fetches_only_missing_pieces(
    grpc_nodes: NodeFactory, client: GrpcTransferClient, tmp_path: Path, offload: bool
) -> None:
    content = data_of(PIECES * SMALL_PIECE + 5, seed=4)
    (node,) = await shared_by(grpc_nodes, 1, content)
    record = record_for(manifest_of(node), node)
    dest = tmp_path / "f.bin"
    halfway = asyncio.Event()

    def progress(done: int, total: int) -> None:
        if done >= total // 2:
            halfway.set()

    settings = DownloadSettings(batch_bytes=2 * SMALL_PIECE, max_streams=1, offload=offload)
    first = asyncio.create_task(
        download_file(client, record, dest, settings=settings, progress=progress)
    )
    await halfway.wait()
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    assert first.cancelled()
    assert not dest.exists()
    served_before = node.service.stats.pieces_served

    report = await download_file(client, record, dest, settings=settings)

    pieces = record.manifest.pieces
    assert dest.read_bytes() == content
    assert pieces // 2 <= report.resumed_pieces < pieces
    assert report.fetched_pieces == pieces - report.resumed_pieces
    assert node.service.stats.pieces_served - served_before == pieces - report.resumed_pieces


async def test_resume_refetches_a_logged_piece_whose_bytes_were_lost(
    grpc_nodes: NodeFactory, client: GrpcTransferClient, tmp_path: Path
) -> None:
    content = data_of(8 * SMALL_PIECE, seed=5)
    (node,) = await shared_by(grpc_nodes, 1, content)
    record = record_for(manifest_of(node), node)
    dest = tmp_path / "f.bin"
    await download_file(client, record, dest)
    # Fake an interrupted run: everything logged as verified, but piece 3's bytes are garbage.
    part = tmp_path / "f.bin.part"
    dest.rename(part)
    broken = bytearray(content)
    broken[3 * SMALL_PIECE] ^= 1
    part.write_bytes(bytes(broken))
    log = b"chordshare-part-v1\n" + record.manifest.content_hash
    log += b"".join(i.to_bytes(4, "little") for i in range(8)) + b"\x01\x02"  # torn last entry
    (tmp_path / "f.bin.part.have").write_bytes(log)

    report = await download_file(client, record, dest)

    assert dest.read_bytes() == content
    assert report.resumed_pieces == 7
    assert report.pieces_from == {node.ref.id: 1}


async def test_no_provider_left_fails_with_every_reason(
    grpc_nodes: NodeFactory, client: GrpcTransferClient, tmp_path: Path
) -> None:
    content = data_of(4 * SMALL_PIECE, seed=6)
    (node,) = await shared_by(grpc_nodes, 1, content)
    bad = await grpc_nodes(wrap=Corrupting)
    bad.share("f.bin", content, SMALL_PIECE)
    record = record_for(manifest_of(node), bad)
    await node.stop()

    with pytest.raises(TransferError, match="no provider left") as caught:
        await download_file(client, record, tmp_path / "f.bin")
    assert "IntegrityError" in str(caught.value)
    assert (tmp_path / "f.bin.part").exists()  # what was verified stays for a later resume
