"""Durability of uploaded files with node processes, driven as a user drives them (REST and the
``chordshare`` command):

* a node whose ``pinned_quota`` a file would exceed refuses it, and the upload still gets k
  holders from the next successors, losing nothing the full node held before;
* two contents uploaded under one name both download by content hash from a node holding
  neither;
* a node restarted on the same config and data_dir still serves what it held and is listed as
  its provider again, after a crash and after a graceful leave;
* a file outlives the SIGKILL, one at a time, of every node that first held it (the key owner's
  repair restores k live holders after each: the time it takes is printed and attached to the
  test report as ``crash_to_k_holders``);
* a file outlives the graceful leave of every node that first held it.

One ring serves the module (starting processes is the slow part): four nodes to begin with,
topped up by each test to the size it needs, so the tests also run one by one. Small files
(a few hundred KiB in 64 KiB pieces) and the fast intervals of ``FILES`` keep it short.
"""

from __future__ import annotations

import random
import shutil
import time
from collections.abc import Callable, Iterator

import pytest

from chordshare.cli.launcher import LocalCluster, NodeProcess, NotYet, fixed_port, wait_until
from chordshare.node.records.jobs import REPAIR_EVERY
from chordshare.node.ring.settings import RingSettings
from tests.e2e.durability_helpers import (
    KIB,
    PIECE_SIZE,
    K,
    Upload,
    address,
    check_holders,
    content,
    has_quota,
    held_bytes,
    held_sources,
    live_holders,
    name_held_by,
    owned_name,
    payload,
    put_rest,
    sha256,
    successors_of,
    top_up,
    upload_answer,
    variant,
    variants,
    wait_holders,
)
from tests.e2e.files_helpers import BITS, FILES, chordshare, node_of, sha256_of
from tests.e2e.helpers import START_TIMEOUT, start_ring

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e"), pytest.mark.timeout(240)]

FIRST_RING = 4
RING = 7
"""Live nodes the crash and leave tests start from: after three of them go, four remain."""

SETTINGS = {
    **FILES,
    "piece_size": PIECE_SIZE,
    "max_file_bytes": 64 << 20,  # at most 1024 pieces of 64 KiB: one record lists them all
    "leave_handoff_timeout": 15.0,
}

REPAIR_TIMEOUT = 30.0
"""Seconds k live holders may take to come back after a holder crashed: a repair round runs
every REPAIR_EVERY stabilize periods (2 s here), the copy of a few hundred KiB takes well under
a second; the rest is slack for two loaded cores."""

LEAVE_TIMEOUT = 30.0
"""Seconds a graceful leave (hand-off of pinned bytes, records, neighbours) may take."""

QUOTA = 384 * KIB


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    cluster = LocalCluster(tmp_path_factory.mktemp("durability"), settings=dict(SETTINGS))
    try:
        nodes = start_ring(cluster, FIRST_RING, random.Random(4))
        cluster.wait_ring(nodes, BITS, 30.0)
        for sub in ("inputs", "downloads", "logs"):
            (cluster.workdir / sub).mkdir()
        yield cluster
    finally:
        cluster.close(grace=5.0)


def _other(cluster: LocalCluster, *excluded: NodeProcess) -> NodeProcess:
    return next(n for n in cluster.live() if n not in excluded)


def test_a_node_over_its_pinned_quota_refuses_a_file_and_the_next_successors_take_it(
    ring: LocalCluster,
) -> None:
    cluster = ring
    rng = random.Random(6)
    top_up(cluster, FIRST_RING, rng)
    full = cluster.start([rng.choice(cluster.live())], pinned_quota=QUOTA)
    cluster.wait_ready([full], START_TIMEOUT)
    cluster.wait_ring(cluster.live(), BITS, 30.0)
    assert cluster.http.get(f"{full.url}/api/v1/files").json()["files"] == []
    through = _other(cluster, full)

    # A file that fits is held by the node whose key it is...
    kept_name = owned_name(cluster, full, "kept")
    kept = put_rest(cluster, through, kept_name, payload(128 * KIB, seed=60))
    assert address(full) in kept.holders, kept.answer
    assert kept.answer["failed"] == {}

    # ...then one over the whole quota, and one over what is left of it, are refused there: the
    # upload still succeeds, held by the three nodes after it, and the answer says why.
    for stem, size in (("over-quota", 512 * KIB), ("over-what-is-left", 320 * KIB)):
        name = owned_name(cluster, full, stem)
        upload = put_rest(cluster, through, name, payload(size, seed=size))
        expected = [address(n) for n in successors_of(cluster, name, K + 1)[1:]]
        assert sorted(upload.holders) == sorted(expected), upload.answer
        why = upload.answer["failed"].get(address(full), "")
        print(f"{full.name} refused {name} ({size // KIB} KiB): {why}")
        assert "full" in why or "quota" in why, upload.answer["failed"]
        assert held_bytes(cluster, full, name, upload.content_hash) is None
        holders, _ = wait_holders(cluster, through, upload, 10.0)
        assert full not in holders

    # Nothing the full node held before is lost.
    assert held_sources(cluster, full, kept_name) == {kept.content_hash: "store"}
    data = held_bytes(cluster, full, kept_name, kept.content_hash)
    assert data is not None
    assert sha256(data) == kept.sha256
    holders, _ = wait_holders(cluster, through, kept, 10.0)
    assert full in holders


def test_two_contents_under_one_name_both_download_by_content_hash(ring: LocalCluster) -> None:
    cluster = ring
    rng = random.Random(3)
    top_up(cluster, RING, rng)
    name = "twice.bin"
    first = put_rest(cluster, rng.choice(cluster.live()), name, payload(200 * KIB, seed=31))
    second = put_rest(cluster, rng.choice(cluster.live()), name, payload(260 * KIB, seed=32))
    assert first.content_hash != second.content_hash
    observer = cluster.live()[0]
    holding = [
        node
        for upload in (first, second)
        for node in wait_holders(cluster, observer, upload, 10.0)[0]
    ]
    found = {r["content_hash"] for r in variants(cluster, observer, name)}
    assert found == {first.content_hash, second.content_hash}

    # A holder of both keeps both under the one name (its store is by content)...
    both = set(first.holders) & set(second.holders)
    for holder in (node_of(cluster.nodes, a) for a in both):
        assert held_sources(cluster, holder, name) == {
            first.content_hash: "store",
            second.content_hash: "store",
        }

    # ...and a node that holds neither serves each by its content hash.
    reader = _other(cluster, *holding)
    for upload in (first, second):
        data, headers = content(cluster, reader, name, upload.content_hash)
        assert sha256(data) == upload.sha256
        assert headers.get("x-chordshare-content-hash") == upload.content_hash
    assert held_sources(cluster, reader, name) == {
        first.content_hash: "store",
        second.content_hash: "store",
    }


def test_a_restarted_node_keeps_its_holdings(ring: LocalCluster) -> None:
    cluster = ring
    rng = random.Random(5)
    top_up(cluster, FIRST_RING, rng)
    # A fixed gRPC port, as a deployed node has: the node keeps its id across restarts.
    host = f"127.0.0.{cluster.first_address + len(cluster.nodes)}"
    keeper = cluster.add([rng.choice(cluster.live())], grpc_port=fixed_port(host))
    assert keeper.host == host
    cluster.launch(keeper)
    cluster.wait_ready([keeper], START_TIMEOUT)
    cluster.wait_ring(cluster.live(), BITS, 30.0)
    identity = keeper.node_id

    name = owned_name(cluster, keeper, "kept")
    observer = _other(cluster, keeper)
    upload = put_rest(cluster, observer, name, payload(240 * KIB, seed=41))
    assert address(keeper) in upload.holders

    for how in ("SIGKILL", "SIGTERM"):
        if how == "SIGKILL":
            keeper.kill()
        else:
            keeper.terminate()
            assert keeper.wait(LEAVE_TIMEOUT) == 0
        shutil.copy(keeper.log_path, cluster.workdir / "logs" / f"{keeper.name}-{how}.log")
        cluster.launch(keeper)  # the same config file, so the same data_dir and ports
        cluster.wait_ready([keeper], START_TIMEOUT)
        assert keeper.node_id == identity
        assert held_sources(cluster, keeper, name) == {upload.content_hash: "store"}, how
        data = held_bytes(cluster, keeper, name, upload.content_hash)
        assert data is not None, how
        assert sha256(data) == upload.sha256, how

        def listed(how: str = how) -> bool:
            found = variant(cluster, observer, name, upload.content_hash)
            if found is None or address(keeper) not in {
                p["grpc_address"] for p in found["providers"]
            }:
                raise NotYet(f"{keeper.name} not listed as a provider after its {how} restart")
            return True

        wait_until(listed, 15.0, f"{keeper.name} a provider again after {how}")

        def pinned_again(how: str = how) -> bool:
            # While it was down the repair may have pinned a replacement, so k holders can be
            # listed before the restarted node's own entry says pinned again: wait for both.
            if keeper not in live_holders(cluster, observer, upload):
                raise NotYet(f"{keeper.name} not a live pinned holder after its {how} restart")
            return True

        wait_until(pinned_again, REPAIR_TIMEOUT, f"{keeper.name} pinned again after {how}")


def _paced(role: str) -> tuple[float, float]:
    """The longest wait on intervals before the repair after a crash of a holder in ``role``,
    here and at the default intervals. A crashed key owner: its successor notices at its next
    predecessor check, takes the range over once stabilization names its new predecessor, and
    repairs at its next step. Any other holder: the owner notices at its next regular round,
    every REPAIR_EVERY stabilize periods."""

    def paced(stabilize: float, check: float) -> float:
        return check + 2 * stabilize if role == "key owner" else REPAIR_EVERY * stabilize

    defaults = RingSettings()
    here = paced(
        float(SETTINGS["stabilize_interval"]), float(SETTINGS["check_predecessor_interval"])
    )
    return here, paced(defaults.stabilize_interval, defaults.check_predecessor_interval)


def _role(cluster: LocalCluster, upload: Upload, victim: NodeProcess) -> str:
    order = successors_of(cluster, upload.name, len(cluster.live()))
    return "key owner" if order[0] is victim else f"successor {order.index(victim)}"


def test_a_file_outlives_the_sigkill_of_every_original_holder(
    ring: LocalCluster, record_property: Callable[[str, object], None]
) -> None:
    cluster = ring
    rng = random.Random(1)
    top_up(cluster, RING, rng)
    # A name whose three holders have no quota, killed in an order that covers both ways the
    # repair is paced: a successor of the key first, then the key owner, twice.
    plain = [n for n in cluster.live() if not has_quota(n)]
    name = name_held_by(cluster, plain, "crash")
    expected = successors_of(cluster, name, K)
    source = cluster.workdir / "inputs" / name
    data = payload(300 * KIB, seed=1)
    source.write_bytes(data)
    through = rng.choice(cluster.live())
    put = chordshare(cluster, "put", str(source), "--node", through.url, "--json")
    upload = upload_answer(name, data, put.json())
    assert sorted(upload.holders) == sorted(address(n) for n in expected), upload.answer
    observer = _other(cluster, *expected)
    wait_holders(cluster, observer, upload, 10.0)

    lines = []
    for victim in (expected[2], expected[0], expected[1]):
        role = _role(cluster, upload, victim)
        victim.kill()
        holders, seconds = wait_holders(cluster, observer, upload, REPAIR_TIMEOUT)
        assert victim not in holders
        here, there = _paced(role)
        lines.append(
            f"SIGKILL of {victim.name} ({role}) -> {K} live pinned holders "
            f"{sorted(h.name for h in holders)} in {seconds:.2f} s; the repair waits at most "
            f"{here:.1f} s on intervals here, {there:.0f} s at the defaults "
            f"(~{seconds * there / here:.0f} s scaling the measured time)"
        )
        print(lines[-1])
    assert not any(o in holders for o in expected)
    record_property("crash_to_k_holders", "; ".join(lines))

    # Every original holder is gone: the file still downloads, with the CLI and over REST.
    reader = _other(cluster, *holders)
    dest = cluster.workdir / "downloads" / name
    got = chordshare(
        cluster, "get", name, "--node", reader.url, "-o", str(dest), "--json", "--sha256"
    )
    assert got.json()["sha256"] == upload.sha256 == sha256_of(dest)
    body, _ = content(cluster, reader, name)
    assert sha256(body) == upload.sha256


def test_a_file_outlives_the_graceful_leave_of_every_original_holder(
    ring: LocalCluster, record_property: Callable[[str, object], None]
) -> None:
    cluster = ring
    rng = random.Random(2)
    top_up(cluster, RING, rng)
    name = name_held_by(cluster, [n for n in cluster.live() if not has_quota(n)], "leave")
    upload = put_rest(cluster, rng.choice(cluster.live()), name, payload(280 * KIB, 2))
    originals = [node_of(cluster.nodes, a) for a in upload.holders]
    assert sorted(o.name for o in originals) == sorted(
        n.name for n in successors_of(cluster, name, K)
    )
    observer = _other(cluster, *originals)
    wait_holders(cluster, observer, upload, 10.0)

    timings = []
    for turn, leaver in enumerate(originals):
        began = time.monotonic()
        if turn == len(originals) - 1:
            answer = cluster.http.post(f"{leaver.url}/api/v1/leave")
            assert answer.status_code == 202, answer.text
        else:
            leaver.terminate()
        assert leaver.wait(LEAVE_TIMEOUT) == 0
        left = time.monotonic() - began
        # Handed off before the exit: the first answer after it no longer names the leaver
        # and already lists k live pinned holders, none of them waiting for a repair round.
        first = wait_until(
            lambda: variant(cluster, observer, upload.name, upload.content_hash),
            10.0,
            f"{upload.name} found after {leaver.name} left",
        )
        assert address(leaver) not in {p["grpc_address"] for p in first["providers"]}
        try:
            holders = check_holders(cluster, first, upload)
        except NotYet as exc:
            pytest.fail(f"right after {leaver.name} left: {exc}")
        assert leaver not in holders
        handed = [line for line in leaver.log_tail(40).splitlines() if "handed off" in line]
        timings.append(left)
        print(
            f"{leaver.name} left in {left:.2f} s; at its exit {K} live pinned holders "
            f"{sorted(h.name for h in holders)}; {handed}"
        )
    assert not any(o in holders for o in originals)
    record_property("leave_seconds", ", ".join(f"{t:.2f}" for t in timings))

    reader = _other(cluster, *holders)
    body, _ = content(cluster, reader, upload.name)
    assert sha256(body) == upload.sha256
    assert live_holders(cluster, reader, upload)
