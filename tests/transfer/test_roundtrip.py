"""Round trips over real gRPC on loopback: download and upload, verified byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from chordshare.model.manifest import DEFAULT_PIECE_SIZE, FileRecord, Provider
from chordshare.node.transfer.download import download_file, download_to_store
from chordshare.transport.grpc.transfer.client import GrpcTransferClient

from .conftest import SMALL_PIECE, NodeFactory, data_of, record_for

SIZES = [0, 1, SMALL_PIECE - 1, SMALL_PIECE, SMALL_PIECE + 1, 5 * SMALL_PIECE + 12345]


@pytest.mark.parametrize("size", SIZES)
async def test_download_round_trip(
    grpc_nodes: NodeFactory, client: GrpcTransferClient, tmp_path: Path, size: int
) -> None:
    node = await grpc_nodes()
    content = data_of(size, seed=size)
    manifest = node.share("file.bin", content, SMALL_PIECE)
    dest = tmp_path / "out.bin"

    report = await download_file(client, record_for(manifest, node), dest)

    assert dest.read_bytes() == content
    assert report.fetched_pieces == manifest.pieces
    assert report.pieces_from == ({node.ref.id: manifest.pieces} if manifest.pieces else {})
    assert not (tmp_path / "out.bin.part").exists()
    assert not (tmp_path / "out.bin.part.have").exists()


async def test_64_mib_round_trip_with_default_pieces(
    grpc_nodes: NodeFactory, client: GrpcTransferClient, tmp_path: Path
) -> None:
    node = await grpc_nodes()
    content = data_of(64 << 20, seed=64)
    manifest = node.share("big.bin", content, DEFAULT_PIECE_SIZE)
    dest = tmp_path / "big.bin"
    seen: list[tuple[int, int]] = []

    report = await download_file(
        client, record_for(manifest, node), dest, progress=lambda d, t: seen.append((d, t))
    )

    assert dest.read_bytes() == content
    assert report.fetched_pieces == 64
    assert seen[0] == (0, 64 << 20)
    assert seen[-1] == (64 << 20, 64 << 20)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


async def test_download_into_a_store_makes_the_node_a_provider(
    grpc_nodes: NodeFactory, client: GrpcTransferClient, tmp_path: Path
) -> None:
    first = await grpc_nodes()
    second = await grpc_nodes()
    content = data_of(3 * SMALL_PIECE + 7, seed=3)
    manifest = first.share("doc.txt", content, SMALL_PIECE)

    report = await download_to_store(client, record_for(manifest, first), second.service.blobs)

    stored = second.service.blobs.latest("doc.txt")
    assert stored is not None
    assert stored.path.read_bytes() == content
    assert report.path == stored.path
    # The second node now serves it: a third party fetches it from there alone.
    dest = tmp_path / "again.txt"
    again = await download_file(client, record_for(manifest, second), dest)
    assert dest.read_bytes() == content
    assert again.pieces_from == {second.ref.id: manifest.pieces}


async def test_served_by_the_node_grpc_server_with_its_interceptors(
    client: GrpcTransferClient, tmp_path: Path
) -> None:
    from typing import Any, cast

    from chordshare.node.transfer.serve import FileTransferService
    from chordshare.ring import PeerRef
    from chordshare.storage.files.blobs import BlobStore
    from chordshare.storage.files.index import SharedIndex
    from chordshare.transport.grpc.server import GrpcServer
    from chordshare.transport.grpc.transfer.codec import SERVICE_NAME
    from chordshare.transport.grpc.transfer.servicer import transfer_registrar
    from chordshare.transport.ports.ring import RingService

    (tmp_path / "shared").mkdir()
    content = data_of(2 * SMALL_PIECE + 1, seed=9)
    (tmp_path / "shared" / "a.txt").write_bytes(content)
    index = SharedIndex(tmp_path / "shared", tmp_path / "data", SMALL_PIECE)
    index.scan()
    holder: dict[str, Any] = {}
    server = GrpcServer(cast(RingService, object()), "127.0.0.1", 0)
    server.add_servicer(lambda s: transfer_registrar(holder["service"])(s))
    holder["service"] = FileTransferService(
        PeerRef(1, "pending"), BlobStore(tmp_path / "data"), index
    )
    port = await server.start()
    try:
        assert SERVICE_NAME in server.services
        me = PeerRef(1, f"127.0.0.1:{port}")
        holder["service"].me = me
        found = index.by_name("a.txt")
        assert found is not None
        provider = Provider(1, me.grpc_address, "", 1e12)
        dest = tmp_path / "out"
        await download_file(client, FileRecord(found.manifest, (provider,)), dest)
        assert dest.read_bytes() == content
    finally:
        await server.stop(0)
