"""File transfer between node processes, driven through the ``chordshare`` command: a download
from three providers at once, a download killed with SIGKILL (or interrupted with Ctrl-C) and
resumed, and bad names refused over REST and by the CLI without a file appearing anywhere else.

One ring of four processes serves the whole module (starting processes is the slow part)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from chordshare.cli.launcher import LocalCluster, NodeProcess, NotYet, wait_until
from tests.e2e.files_helpers import (
    BITS,
    FILES,
    MIB,
    chordshare,
    drop_file,
    holders_of,
    random_bytes_file,
    sha256_of,
    spawn,
    stray_files,
    wait_found,
)
from tests.e2e.helpers import start_ring

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e"), pytest.mark.timeout(240)]

SIDECAR_HEADER = len(b"chordshare-part-v1\n") + 32
"""The verified-pieces log of a partial download: a magic line and the content hash, then one
4-byte piece index per verified piece (see ``storage.blobs.PartialFile``)."""


@pytest.fixture(scope="module")
def ring(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LocalCluster, list[NodeProcess]]]:
    cluster = LocalCluster(tmp_path_factory.mktemp("files-ring"), settings=dict(FILES))
    try:
        nodes = start_ring(cluster, 4, random.Random(4))
        cluster.wait_ring(nodes, BITS, 30.0)
        for sub in ("inputs", "downloads", "staging", "logs"):
            (cluster.workdir / sub).mkdir()
        yield cluster, nodes
    finally:
        cluster.close(grace=5.0)


def test_download_from_three_providers(ring: tuple[LocalCluster, list[NodeProcess]]) -> None:
    cluster, nodes = ring
    source = cluster.workdir / "inputs" / "three.bin"
    digest = random_bytes_file(source, 16 * MIB, seed=3)
    put = chordshare(cluster, "put", str(source), "--node", nodes[0].url, "--json").json()
    assert len(holders_of(put)) == 3
    wait_found(cluster, nodes[3], "three.bin", providers=3)
    dest = cluster.workdir / "downloads" / "three-copy.bin"
    got = chordshare(
        cluster, "get", "three.bin", "--node", nodes[3].url, "-o", str(dest), "--json", "--sha256"
    )
    report = got.json()
    served = {p["grpc_address"]: p["pieces"] for p in report["providers"]}
    print(f"pieces per provider: {served}; {report['mib_per_s']} MiB/s")
    assert sorted(served) == sorted(holders_of(put))
    assert all(count > 0 for count in served.values())
    assert sum(served.values()) == report["pieces"] == 16
    assert report["sha256"] == digest == sha256_of(dest)


def _logged_pieces(sidecar: Path) -> set[int]:
    raw = sidecar.read_bytes()[SIDECAR_HEADER:]
    usable = len(raw) - len(raw) % 4
    return {int.from_bytes(raw[i : i + 4], "little") for i in range(0, usable, 4)}


def _start_slow_get(
    cluster: LocalCluster, node: NodeProcess, name: str, dest: Path, at_least: int
) -> subprocess.Popen[bytes]:
    """``chordshare get`` paced to 4 MiB/s (several seconds of margin for a loaded machine to
    signal it mid-download), returned once ``at_least`` pieces are verified."""
    process = spawn(
        cluster,
        *("get", name, "--node", node.url, "-o", str(dest), "--limit-rate", "4M"),
        log=cluster.workdir / "logs" / f"get-{name}.log",
    )
    sidecar = dest.with_name(dest.name + ".part.have")

    def enough() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"get ended early with status {process.returncode}")
        if not sidecar.exists() or len(_logged_pieces(sidecar)) < at_least:
            raise NotYet("too few pieces verified yet")
        return True

    wait_until(enough, 60.0, f"{at_least} pieces of {name} verified", interval=0.01)
    return process


def test_sigkilled_download_resumes_with_only_the_missing_pieces(
    ring: tuple[LocalCluster, list[NodeProcess]],
) -> None:
    cluster, nodes = ring
    digest = drop_file(cluster, nodes[1], "resume.bin", 48 * MIB, seed=48)
    wait_found(cluster, nodes[2], "resume.bin")
    dest = cluster.workdir / "downloads" / "resume.bin"
    process = _start_slow_get(cluster, nodes[2], "resume.bin", dest, at_least=6)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(10) == -signal.SIGKILL
    assert not dest.exists()
    have = _logged_pieces(dest.with_name(dest.name + ".part.have"))
    assert 6 <= len(have) < 48

    again = chordshare(
        cluster, "get", "resume.bin", "--node", nodes[2].url, "-o", str(dest), "--json", "--sha256"
    )
    report = again.json()
    print(f"killed after {len(have)} pieces; the second run moved {report['fetched_pieces']}")
    assert report["resumed_pieces"] == len(have)
    assert report["fetched_pieces"] == 48 - len(have)
    assert report["sha256"] == digest == sha256_of(dest)
    assert not dest.with_name(dest.name + ".part").exists()
    assert not dest.with_name(dest.name + ".part.have").exists()


def test_ctrl_c_is_one_line_and_the_next_run_resumes(
    ring: tuple[LocalCluster, list[NodeProcess]],
) -> None:
    cluster, nodes = ring
    digest = drop_file(cluster, nodes[3], "ctrlc.bin", 32 * MIB, seed=32)
    wait_found(cluster, nodes[0], "ctrlc.bin")
    dest = cluster.workdir / "downloads" / "ctrlc.bin"
    process = _start_slow_get(cluster, nodes[0], "ctrlc.bin", dest, at_least=4)
    os.kill(process.pid, signal.SIGINT)
    assert process.wait(15) == 130
    lines = (cluster.workdir / "logs" / "get-ctrlc.bin.log").read_text().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("chordshare: interrupted")
    again = chordshare(
        cluster, "get", "ctrlc.bin", "--node", nodes[0].url, "-o", str(dest), "--json", "--sha256"
    )
    report = again.json()
    assert report["resumed_pieces"] >= 4
    assert report["resumed_pieces"] + report["fetched_pieces"] == 32
    assert report["sha256"] == digest


BAD_NAMES = [
    "../escaped.txt",
    "../../escaped.txt",
    "sub/escaped.txt",
    "/tmp/escaped-abs.txt",
    "..",
    ".",
    "back\\slash.txt",
    "C:escaped.txt",
    "tab\there.txt",
    "bell\x07.txt",
    "\u202etxt.exe",
    "x" * 256,
]
CLI_BAD_NAMES = ["../escaped.txt", "/tmp/escaped-abs.txt", ".."]
"""A few for the CLI as a separate process (each costs an interpreter start)."""


def test_bad_names_get_4xx_and_a_one_line_cli_error(
    ring: tuple[LocalCluster, list[NodeProcess]],
) -> None:
    cluster, nodes = ring
    node = nodes[1]
    api = f"{node.url}/api/v1"
    source = cluster.workdir / "inputs" / "payload.txt"
    source.write_bytes(b"payload\n")
    for name in [*BAD_NAMES, "nul\x00.txt"]:
        q = quote(name, safe="").replace(".", "%2E")  # "%2E%2E" escapes URL normalization
        answers = [
            cluster.http.get(f"{api}/files/{q}"),
            cluster.http.get(f"{api}/network/files/{q}"),
            cluster.http.get(f"{api}/network/files/{q}/content"),
            cluster.http.put(f"{api}/network/files/{q}", content=b"payload\n"),
        ]
        statuses = [a.status_code for a in answers]
        assert all(400 <= s < 500 for s in statuses), (name, statuses)
    for name in CLI_BAD_NAMES:  # every bad name is tried in-process in tests/cli as well
        for args in (
            ("get", name, "-o", str(cluster.workdir / "downloads")),
            ("put", str(source), "--name", name),
        ):
            ran = chordshare(cluster, *args, "--node", node.url)
            assert ran.status != 0, (args, ran.out)
            assert len(ran.err.strip().splitlines()) == 1, (args, ran.err)
            assert "Traceback" not in ran.out + ran.err
    escaped = [
        p for p in ("escaped.txt", "escaped-abs.txt") if (cluster.workdir.parent / p).exists()
    ]
    assert escaped == []
    assert not Path("/tmp/escaped-abs.txt").exists()
    assert stray_files(cluster.workdir, nodes, {"inputs", "downloads", "staging", "logs"}) == []
    assert not any((cluster.workdir / "downloads").glob("*escaped*"))
