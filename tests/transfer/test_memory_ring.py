"""Upload and download on a real Chord ring over the in-memory network (the twin transport)."""

from __future__ import annotations

from pathlib import Path

from chordshare.api.schemas.files import file_uri
from chordshare.node.transfer.download import download_file, download_to_store
from chordshare.node.transfer.serve import FileTransferService
from chordshare.node.transfer.upload import Uploader
from chordshare.sim.cluster import MemoryCluster
from chordshare.storage.files.blobs import BlobStore
from chordshare.transport.memory.transfer import MemoryTransferClient

from .conftest import SMALL_PIECE, data_of


def ring_with_files(
    tmp_path: Path, size: int
) -> tuple[MemoryCluster, dict[int, FileTransferService]]:
    """A converged ring whose every node also serves transfers; each node's transfer service."""
    cluster = MemoryCluster(bits=16, seed=7)
    cluster.place(cluster.random_ids(size))
    cluster.verify()
    served: dict[int, FileTransferService] = {}
    for ident, node in cluster.nodes.items():
        files = FileTransferService(node.me, BlobStore(tmp_path / f"n{ident}"))
        cluster.network.register(node.me, ring=node, transfer=files)
        served[ident] = files
    return cluster, served


async def test_upload_lands_on_owner_and_successors_and_survives_k_minus_1_crashes(
    tmp_path: Path,
) -> None:
    cluster, served = ring_with_files(tmp_path, 6)
    entry = cluster.nodes[sorted(cluster.nodes)[0]]
    client = MemoryTransferClient(cluster.network, entry.me.grpc_address)
    up = Uploader(
        entry,
        client,
        replication=3,
        piece_size=SMALL_PIECE,
        spool_dir=tmp_path / "s",
        uri_of=file_uri,
    )
    content = data_of(20 * SMALL_PIECE + 1, seed=30)
    source = tmp_path / "movie.mkv"
    source.write_bytes(content)

    result = await up.upload_path(source)

    key = cluster.space.hash_key("movie.mkv")
    owner = cluster.oracle().successor(key)
    ring = sorted(cluster.nodes)
    start = ring.index(owner)
    expected = [ring[(start + i) % len(ring)] for i in range(3)]
    assert [h.id for h in result.holders] == expected
    for ident in expected:
        stored = served[ident].blobs.latest("movie.mkv")
        assert stored is not None
        assert stored.path.read_bytes() == content

    for ident in expected[:2]:  # kill k-1 holders at once
        cluster.crash(cluster.nodes[ident])
    dest = tmp_path / "got.mkv"
    report = await download_file(client, result.record, dest)
    assert dest.read_bytes() == content
    assert set(report.bad_providers) == set(expected[:2])
    assert report.pieces_from == {expected[2]: 21}


async def test_provider_crashing_mid_stream_is_replaced(tmp_path: Path) -> None:
    cluster, _served = ring_with_files(tmp_path, 3)
    first, second, third = sorted(cluster.nodes)
    content = data_of(30 * SMALL_PIECE, seed=31)
    source = tmp_path / "f"
    source.write_bytes(content)
    client = MemoryTransferClient(cluster.network, cluster.nodes[third].me.grpc_address)
    up = Uploader(
        cluster.nodes[third],
        client,
        replication=2,
        piece_size=SMALL_PIECE,
        spool_dir=tmp_path,
        uri_of=file_uri,
    )
    result = await up.upload_path(source)
    holders = [h.id for h in result.holders]
    victim = holders[0]

    def progress(done: int, total: int) -> None:
        if done and cluster.network.is_up(cluster.nodes[victim].me.grpc_address):
            cluster.network.crash(cluster.nodes[victim].me.grpc_address)

    store = BlobStore(tmp_path / "downloader")
    report = await download_to_store(client, result.record, store, progress=progress)

    stored = store.latest("f")
    assert stored is not None
    assert stored.path.read_bytes() == content
    assert set(report.bad_providers) == {victim}
    assert "PeerUnavailable" in report.bad_providers[victim]
    assert sum(report.pieces_from.values()) == 30
    assert {first, second, third} >= set(holders)
