"""Helpers of the durability end-to-end tests (no tests here): uploads over REST, the live
holders a record names (each checked to serve the bytes), waiting for k of them after a crash
or a leave, names whose key a chosen node owns, and topping a ring up with joiners."""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from chordshare.api.schemas.files import content_path, file_path, network_file_path
from chordshare.cli.launcher import LocalCluster, NodeProcess, NotYet, wait_until
from chordshare.ring import IdSpace
from chordshare.ring.oracle import RingOracle
from tests.e2e.files_helpers import BITS, CLI_TIMEOUT
from tests.e2e.helpers import START_TIMEOUT

K = 3
"""The replication factor (the config default)."""

KIB = 1 << 10
PIECE_SIZE = 64 * KIB
"""Small pieces, so that files of a few hundred KiB still have several pieces each."""

RING_TIMEOUT = 30.0
"""Seconds a ring of a few processes gets to converge after joins (it takes one or two)."""


@dataclass(frozen=True)
class Upload:
    """What an upload stored: the name, the content (hex BLAKE3, as the record names it), the
    bytes' SHA-256 and the holders the answer named (gRPC addresses)."""

    name: str
    content_hash: str
    sha256: str
    size: int
    holders: tuple[str, ...]
    answer: dict[str, Any]


def address(node: NodeProcess) -> str:
    return f"{node.host}:{node.grpc_port}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def payload(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def upload_answer(name: str, data: bytes, answer: dict[str, Any]) -> Upload:
    holders = tuple(h["grpc_address"] for h in answer["holders"])
    return Upload(name, answer["record"]["content_hash"], sha256(data), len(data), holders, answer)


def put_rest(cluster: LocalCluster, node: NodeProcess, name: str, data: bytes) -> Upload:
    """``PUT /api/v1/network/files/{name}`` through ``node``; must answer 201."""
    answer = cluster.http.put(
        f"{node.url}{network_file_path(name)}", content=data, timeout=CLI_TIMEOUT
    )
    assert answer.status_code == 201, f"{answer.status_code}: {answer.text}"
    return upload_answer(name, data, answer.json())


def variants(cluster: LocalCluster, asker: NodeProcess, name: str) -> list[dict[str, Any]]:
    """The records of ``name`` as ``asker`` finds them (empty on 404)."""
    answer = cluster.http.get(f"{asker.url}{network_file_path(name)}")
    if answer.status_code == 404:
        return []
    answer.raise_for_status()
    records: list[dict[str, Any]] = answer.json()["records"]
    return records


def variant(
    cluster: LocalCluster, asker: NodeProcess, name: str, content_hash: str
) -> dict[str, Any] | None:
    """The record of ``name`` with that content hash, or None."""
    return next(
        (r for r in variants(cluster, asker, name) if r["content_hash"] == content_hash), None
    )


def held_bytes(
    cluster: LocalCluster, node: NodeProcess, name: str, content_hash: str
) -> bytes | None:
    """``node``'s own copy of that content (``GET /api/v1/files/{name}``), None on 404."""
    answer = cluster.http.get(
        f"{node.url}{file_path(name)}", params={"content_hash": content_hash}, timeout=30.0
    )
    if answer.status_code == 404:
        return None
    answer.raise_for_status()
    return answer.content


def held_sources(cluster: LocalCluster, node: NodeProcess, name: str) -> dict[str, str]:
    """Content hash -> source (``shared``/``store``) of what ``node`` lists under ``name``."""
    body = cluster.http.get(f"{node.url}/api/v1/files").raise_for_status().json()
    return {f["content_hash"]: f["source"] for f in body["files"] if f["name"] == name}


def content(
    cluster: LocalCluster, node: NodeProcess, name: str, content_hash: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """``GET /api/v1/network/files/{name}/content`` on ``node`` (the variant with that content
    hash when given): the bytes and the response headers; must answer 200."""
    params = {} if content_hash is None else {"content_hash": content_hash}
    answer = cluster.http.get(f"{node.url}{content_path(name)}", params=params, timeout=60.0)
    assert answer.status_code == 200, f"{answer.status_code}: {answer.text[:500]}"
    return answer.content, dict(answer.headers)


def stored_kind(cluster: LocalCluster, node: NodeProcess, content_hash: str) -> str | None:
    """How ``node``'s blob store keeps that content: ``pinned`` (one of an upload's k replicas),
    ``cached`` (fetched for a reader), or None when it does not hold it. Read from the store's
    meta file (``<data_dir>/blobs/meta/<content hex>.json``, see
    ``chordshare.storage.files.stored``): no REST view says whether a copy is pinned."""
    meta = cluster.workdir / node.name / "data" / "blobs" / "meta" / f"{content_hash}.json"
    try:
        kind = json.loads(meta.read_text()).get("kind")
    except FileNotFoundError:
        return None
    return None if kind is None else str(kind)


def check_holders(
    cluster: LocalCluster, found: dict[str, Any] | None, upload: Upload, k: int = K
) -> list[NodeProcess]:
    """The pinned holders of ``upload`` that its record ``found`` lists, once they are at least
    ``k`` distinct live nodes, with no dead node listed and every listed node serving the bytes
    (its own copy, SHA-256 checked); raises NotYet otherwise. A listed node counts as pinned
    when its store keeps the content pinned (and its entry says pinned, should the REST view
    carry the flag)."""
    if found is None:
        raise NotYet(f"{upload.name} ({upload.content_hash[:8]}) not found")
    by_address = {address(n): n for n in cluster.nodes}
    listed = [p["grpc_address"] for p in found["providers"]]
    gone = [a for a in listed if a not in by_address or not by_address[a].alive]
    if gone:
        raise NotYet(f"{upload.name}: dead or unknown providers still listed: {gone}")
    pinned = []
    for entry in found["providers"]:
        holder = by_address[entry["grpc_address"]]
        data = held_bytes(cluster, holder, upload.name, upload.content_hash)
        if data is None or sha256(data) != upload.sha256:
            why = "nothing" if data is None else f"{len(data)} other bytes"
            raise NotYet(f"{upload.name}: {holder.name} is listed but serves {why}")
        if entry.get("pinned", True) and stored_kind(cluster, holder, upload.content_hash) == (
            "pinned"
        ):
            pinned.append(holder)
    if len({h.name for h in pinned}) < k:
        raise NotYet(
            f"{upload.name}: {len(pinned)} live pinned holders listed "
            f"({[h.name for h in pinned]} of {len(listed)} providers)"
        )
    return pinned


def live_holders(
    cluster: LocalCluster, asker: NodeProcess, upload: Upload, k: int = K
) -> list[NodeProcess]:
    """:func:`check_holders` on the record of ``upload`` as ``asker`` finds it now."""
    return check_holders(
        cluster, variant(cluster, asker, upload.name, upload.content_hash), upload, k
    )


def wait_holders(
    cluster: LocalCluster, asker: NodeProcess, upload: Upload, timeout: float, k: int = K
) -> tuple[list[NodeProcess], float]:
    """Wait until :func:`live_holders` holds; the holders and the seconds it took."""
    began = time.monotonic()
    holders = wait_until(
        lambda: live_holders(cluster, asker, upload, k),
        timeout,
        f"{k} live holders of {upload.name}",
    )
    return holders, time.monotonic() - began


def owner_of(cluster: LocalCluster, key: str) -> int:
    """The ring id of the live node that owns ``key`` (the oracle over the live nodes)."""
    ids = [n.node_id for n in cluster.live() if n.node_id is not None]
    space = IdSpace(BITS)
    return RingOracle(space, ids).successor(space.hash_key(key))


def owned_name(cluster: LocalCluster, node: NodeProcess, stem: str, suffix: str = ".bin") -> str:
    """The first of ``stem-0.bin``, ``stem-1.bin``, ... whose key ``node`` owns."""
    for i in range(10_000):
        name = f"{stem}-{i}{suffix}"
        if owner_of(cluster, name) == node.node_id:
            return name
    raise AssertionError(f"no name owned by {node.name} among 10000 tries")


def name_held_by(cluster: LocalCluster, allowed: list[NodeProcess], stem: str) -> str:
    """The first of ``stem-0.bin``, ``stem-1.bin``, ... whose k holders (its owner and the
    owner's successors) are all among ``allowed``."""
    names = {n.name for n in allowed}
    for i in range(10_000):
        name = f"{stem}-{i}.bin"
        if all(n.name in names for n in successors_of(cluster, name, K)):
            return name
    raise AssertionError(f"no name held by {sorted(names)} among 10000 tries")


def has_quota(node: NodeProcess) -> bool:
    """Whether ``node``'s config sets a pinned quota (such a node may refuse a file)."""
    return "pinned_quota" in node.config_path.read_text()


def successors_of(cluster: LocalCluster, key: str, count: int) -> list[NodeProcess]:
    """The live nodes that should hold ``key``'s bytes, in ring order from its owner."""
    space = IdSpace(BITS)
    by_id = {n.node_id: n for n in cluster.live()}
    oracle = RingOracle(space, [i for i in by_id if i is not None])
    owner = oracle.successor(space.hash_key(key))
    return [by_id[owner], *(by_id[i] for i in oracle.successors(owner, count - 1))]


def top_up(cluster: LocalCluster, count: int, rng: random.Random) -> list[NodeProcess]:
    """Start joiners until ``count`` nodes are live, then wait for a correct ring; the new
    nodes."""
    live = cluster.live()
    joiners = [cluster.add([rng.choice(live)]) for _ in range(count - len(live))]
    for node in joiners:
        cluster.launch(node)
    if joiners:
        cluster.wait_ready(joiners, START_TIMEOUT)
    cluster.wait_ring(cluster.live(), BITS, RING_TIMEOUT)
    return joiners


def quoted(name: str) -> str:
    return quote(name, safe="")
