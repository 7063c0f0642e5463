"""Remove and RemovalKeys over real gRPC: a copy keeps the keys its upload carried, answers with
them, and is dropped only for a secret one of them opens (the refusals as the status table
says: PERMISSION_DENIED, NOT_FOUND, INVALID_ARGUMENT)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chordshare.errors import InvalidInput, NotFound, NotPermitted
from chordshare.model.manifest import FileManifest
from chordshare.model.removal import MAX_KEYS_PER_COPY, new_secret, removal_key
from chordshare.storage.files.pieces import PieceReader
from chordshare.storage.files.removal import RemovalStore
from chordshare.transport.grpc.transfer.client import GrpcTransferClient
from chordshare.transport.ports.transfer import Chunk

from .conftest import SMALL_PIECE, GrpcNode, NodeFactory, data_of, manifest_of


async def chunks_of(path: Path, manifest: FileManifest) -> AsyncIterator[Chunk]:
    with PieceReader.open(path, manifest) as reader:
        for piece in range(manifest.pieces):
            yield Chunk(piece, 0, bytes(reader.view(piece, 0, manifest.piece_length(piece))))


async def stored(
    node: GrpcNode, client: GrpcTransferClient, tmp_path: Path, keys: tuple[bytes, ...]
) -> FileManifest:
    source = tmp_path / "source.bin"
    source.write_bytes(data_of(3 * SMALL_PIECE + 11, seed=8))
    manifest = manifest_of(source, "report.pdf", SMALL_PIECE)
    await client.upload(node.ref, manifest, chunks_of(source, manifest), keys)
    return manifest


async def test_a_copy_is_removed_only_with_its_secret(
    grpc_nodes: NodeFactory, client: GrpcTransferClient, tmp_path: Path
) -> None:
    node = await grpc_nodes()
    secret = new_secret()
    manifest = await stored(node, client, tmp_path, (removal_key(secret),))
    name, content = manifest.name, manifest.content_hash
    assert await client.removal_keys(node.ref, name, content) == (removal_key(secret),)
    with pytest.raises(NotPermitted, match="removes no upload"):
        await client.remove(node.ref, name, content, new_secret())
    with pytest.raises(InvalidInput, match="32 bytes"):
        await client.remove(node.ref, name, content, b"short")
    with pytest.raises(NotFound):
        await client.remove(node.ref, "other.pdf", content, secret)
    assert node.service.blobs.by_content(content) is not None
    assert await client.remove(node.ref, name, content, secret) is True
    assert node.service.blobs.by_content(content) is None
    assert await client.removal_keys(node.ref, name, content) == ()
    with pytest.raises(NotFound):
        await client.remove(node.ref, name, content, secret)
    assert node.service.stats.copies_removed == 1


async def test_each_upload_of_a_copy_keeps_its_own_key(
    grpc_nodes: NodeFactory, client: GrpcTransferClient, tmp_path: Path
) -> None:
    node = await grpc_nodes()
    first, second = new_secret(), new_secret()
    manifest = await stored(node, client, tmp_path, (removal_key(first),))
    await stored(node, client, tmp_path, (removal_key(second),))
    name, content = manifest.name, manifest.content_hash
    assert set(await client.removal_keys(node.ref, name, content)) == {
        removal_key(first),
        removal_key(second),
    }
    assert await client.remove(node.ref, name, content, first) is False  # the second keeps it
    assert node.service.blobs.by_content(content) is not None
    assert await client.remove(node.ref, name, content, second) is True


async def test_a_copy_without_keys_is_nobodys_to_remove(
    grpc_nodes: NodeFactory, client: GrpcTransferClient, tmp_path: Path
) -> None:
    node = await grpc_nodes()
    manifest = await stored(node, client, tmp_path, ())
    with pytest.raises(NotPermitted):
        await client.remove(node.ref, manifest.name, manifest.content_hash, new_secret())
    too_many = tuple(bytes([i]) * 32 for i in range(MAX_KEYS_PER_COPY + 1))
    with pytest.raises(InvalidInput, match="removal keys"):
        await stored(node, client, tmp_path, too_many)


def test_the_store_keeps_keys_and_secrets_across_a_reopen(tmp_path: Path) -> None:
    store = RemovalStore(tmp_path)
    content = b"\x01" * 32
    keys = tuple(bytes([i]) * 32 for i in range(MAX_KEYS_PER_COPY + 3))
    assert store.add_keys("a", content, keys) == MAX_KEYS_PER_COPY  # bounded, oldest kept
    store.add_secret("a", content, b"s" * 32)
    store.close()
    again = RemovalStore(tmp_path)
    assert again.keys("a", content) == keys[:MAX_KEYS_PER_COPY]
    assert again.secrets("a") == [(content, b"s" * 32)]
    assert again.drop_key("a", content, keys[0]) == MAX_KEYS_PER_COPY - 1
    again.forget_copy("a", content)
    assert again.keys("a", content) == ()
    again.drop_secret("a", content, b"s" * 32)
    assert again.secrets("a") == []
    again.close()
