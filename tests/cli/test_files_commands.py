"""File commands (ls, search, get, put) against live nodes: four NodeServices with real gRPC
and REST on loopback in one background event loop, each with its own shared and data
directories. Downloads run in the test's process, straight from the providers over gRPC."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chordshare.cli.launcher import NotYet, wait_until
from chordshare.cli.main import app
from chordshare.client.download import exclusive
from chordshare.client.rest import NodeApi
from chordshare.errors import NotFound
from chordshare.model.manifest import content_hash
from chordshare.service.node_service import NodeService
from chordshare.storage.files.pieces import piece_digest
from tests.conftest import ServiceRing

runner = CliRunner()

PIECE = 64 << 10
"""Small pieces, so that files of a few hundred KiB have several to spread over providers."""


@pytest.fixture(scope="module")
def ring(
    service_ring: ServiceRing, tmp_path_factory: pytest.TempPathFactory
) -> tuple[ServiceRing, list[NodeService], Path]:
    root = tmp_path_factory.mktemp("files-cli")
    shared = root / "s0" / "shared"
    shared.mkdir(parents=True)
    (shared / "alpha.bin").write_bytes(random.Random(1).randbytes(300 << 10))
    (shared / "empty.txt").write_bytes(b"")
    services: list[NodeService] = []
    for i in range(4):
        seeds = [service_ring.url(services[-1])] if services else []
        services.append(
            service_ring.start(
                seeds,
                shared_dir=str(root / f"s{i}" / "shared"),
                data_dir=str(root / f"s{i}" / "data"),
                piece_size=PIECE,
                max_file_bytes=1 << 30,
                rescan_interval=0.2,
            )
        )
    urls = [service_ring.url(s) for s in services]

    def formed() -> bool:
        with NodeApi(urls[0]) as api:
            walk = api.ring()
        if not walk.closed or len(walk.nodes) != 4:
            raise NotYet(f"walk {walk.stopped} with {len(walk.nodes)} nodes")
        for url in urls:
            with NodeApi(url) as api:
                if len(api.node().successors) != 3:  # the k - 1 holders after any owner
                    raise NotYet("successor lists still filling")
            for name in ("alpha.bin", "empty.txt"):
                found(url, name)
        return True

    wait_until(formed, 20, "ring of 4 with the shared files published")
    return service_ring, services, root


def found(url: str, name: str) -> bool:
    try:
        with NodeApi(url) as api:
            api.network_file(name)
    except NotFound as exc:
        raise NotYet(str(exc)) from exc
    return True


def cli(*args: str, owner: Path | None = None) -> tuple[int, str, str]:
    """Run the CLI; ``owner``: the data_dir of the node whose owner runs it (its token file is
    found through ``CHORDSHARE_DATA_DIR``, as for a node started with that setting)."""
    env = {"COLUMNS": "200"}
    if owner is not None:
        env["CHORDSHARE_DATA_DIR"] = str(owner)
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def data_dir(ring: tuple[ServiceRing, list[NodeService], Path], index: int) -> Path:
    return ring[2] / f"s{index}" / "data"


def one_line_error(status: int, out: str, err: str, expected: str = "") -> None:
    assert status == 1, out + err
    assert err.startswith("chordshare: "), err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in out + err
    assert expected in err, err


def url(ring: tuple[ServiceRing, list[NodeService], Path], index: int) -> str:
    service_ring, services, _ = ring
    return service_ring.url(services[index])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


Ring = tuple[ServiceRing, list[NodeService], Path]


def test_ls(ring: Ring) -> None:
    status, out, _ = cli("ls", "--node", url(ring, 0), "--json")
    assert status == 0
    files = {f["name"]: f for f in json.loads(out)["files"]}
    assert files["alpha.bin"]["size"] == 300 << 10
    assert files["alpha.bin"]["source"] == "shared"
    assert files["alpha.bin"]["uri"].endswith("/api/v1/files/alpha.bin")
    assert files["empty.txt"]["size"] == 0
    status, out, _ = cli("ls", "--node", url(ring, 0))
    assert status == 0
    assert "alpha.bin" in out
    assert "300.0 KiB" in out
    assert files["alpha.bin"]["content_hash"][:16] in out


def test_search_by_words_and_the_network_listing(ring: Ring) -> None:
    status, out, err = cli("search", "ALPHA", "--node", url(ring, 1), "--json")
    assert status == 0, err
    answer = json.loads(out)
    assert [h["name"] for h in answer["names"]] == ["alpha.bin"]
    [variant] = answer["names"][0]["variants"]
    status, out, _ = cli("search", "alpha", "bin", "--node", url(ring, 3))
    assert status == 0
    assert variant["content_hash"] in out.replace("\n", "").replace(" ", "").replace("│", "")
    status, out, _ = cli("search", "nosuchword", "--node", url(ring, 3), "--json")
    assert json.loads(out)["names"] == []
    one_line_error(*cli("search", "a", "--node", url(ring, 0)), "no word to search for")
    status, out, _ = cli("ls", "--network", "--node", url(ring, 2), "--json", "--all")
    assert status == 0
    names = json.loads(out)["names"]
    assert "alpha.bin" in names
    assert names == sorted(names)
    status, out, _ = cli("ls", "--network", "--node", url(ring, 2), "--json", "--offset", "1")
    assert json.loads(out)["names"] == names[1:]
    status, out, _ = cli("ls", "--network", "--node", url(ring, 2), "--json", "--limit", "1")
    assert json.loads(out)["names"] == names[:1]


def test_show(ring: Ring) -> None:
    status, out, _ = cli("show", "alpha.bin", "--node", url(ring, 2), "--json")
    assert status == 0
    answer = json.loads(out)
    assert answer["name"] == "alpha.bin"
    [record] = answer["records"]
    assert record["pieces"] == 300 // 64 + 1
    _, services, _ = ring
    assert services[0].node is not None
    assert [p["grpc_address"] for p in record["providers"]] == [services[0].node.me.grpc_address]
    status, out, _ = cli("show", "alpha.bin", "--node", url(ring, 1))
    assert status == 0
    assert "alpha.bin" in out
    assert services[0].node.me.grpc_address in out
    assert "/api/v1/files/alpha.bin" in out


def test_get_into_a_directory_and_again(ring: Ring, tmp_path: Path) -> None:
    original = ring[2] / "s0" / "shared" / "alpha.bin"
    status, out, err = cli(
        "get", "alpha.bin", "--node", url(ring, 2), "-o", str(tmp_path), "--json", "--sha256"
    )
    assert status == 0, err
    report = json.loads(out)
    assert report["path"] == str(tmp_path / "alpha.bin")
    assert report["sha256"] == digest(original) == digest(tmp_path / "alpha.bin")
    assert report["fetched_pieces"] == report["pieces"] == 5
    assert [p["pieces"] for p in report["providers"]] == [5]
    assert not list(tmp_path.glob("*.part*"))
    # Again: the file is already there with the same bytes, nothing moves.
    status, out, _ = cli("get", "alpha.bin", "--node", url(ring, 1), "-o", str(tmp_path))
    assert status == 0
    assert "already holds alpha.bin" in out


def test_get_hashes_the_whole_file_only_with_sha256(ring: Ring, tmp_path: Path) -> None:
    original = ring[2] / "s0" / "shared" / "alpha.bin"
    status, out, err = cli(
        "get", "alpha.bin", "--node", url(ring, 0), "-o", str(tmp_path), "--json"
    )
    assert status == 0, err
    assert json.loads(out)["sha256"] is None
    assert digest(tmp_path / "alpha.bin") == digest(original)
    # Already there: asked for, the hash is of the file found.
    status, out, err = cli(
        "get", "alpha.bin", "--node", url(ring, 0), "-o", str(tmp_path), "--sha256"
    )
    assert status == 0, err
    assert f"already holds alpha.bin; SHA-256 {digest(original)}; nothing fetched" in out


def test_get_to_a_file_name_and_the_table(ring: Ring, tmp_path: Path) -> None:
    dest = tmp_path / "copy.bin"
    status, out, err = cli("get", "alpha.bin", "--node", url(ring, 1), "-o", str(dest))
    assert status == 0, err
    assert f"saved {dest}" in out
    assert "every piece verified" in out
    assert "SHA-256" not in out  # the whole-file hash only when asked for
    assert "pieces per provider" in out
    assert dest.read_bytes() == (ring[2] / "s0" / "shared" / "alpha.bin").read_bytes()


def test_get_to_the_working_directory(
    ring: Ring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    status, _, err = cli("get", "empty.txt", "--node", url(ring, 1))
    assert status == 0, err
    assert (tmp_path / "empty.txt").read_bytes() == b""


def test_get_refuses_to_overwrite_other_content_without_force(ring: Ring, tmp_path: Path) -> None:
    dest = tmp_path / "alpha.bin"
    dest.write_bytes(b"something else")
    one_line_error(
        *cli("get", "alpha.bin", "--node", url(ring, 0), "-o", str(tmp_path)),
        "exists with other content; use --force",
    )
    assert dest.read_bytes() == b"something else"
    status, _, err = cli("get", "alpha.bin", "--node", url(ring, 0), "-o", str(dest), "--force")
    assert status == 0, err
    assert digest(dest) == digest(ring[2] / "s0" / "shared" / "alpha.bin")


def test_a_second_get_into_the_same_file_is_refused(ring: Ring, tmp_path: Path) -> None:
    dest = tmp_path / "alpha.bin"
    with exclusive(dest):  # as a running get holds it
        one_line_error(
            *cli("get", "alpha.bin", "--node", url(ring, 0), "-o", str(dest)),
            f"another chordshare get is writing {dest}",
        )
    status, _, err = cli("get", "alpha.bin", "--node", url(ring, 0), "-o", str(dest))
    assert status == 0, err


def test_put_then_get_from_another_node(ring: Ring, tmp_path: Path) -> None:
    source = tmp_path / "local-name.bin"
    source.write_bytes(random.Random(7).randbytes(200 << 10))
    status, out, err = cli(
        "put",
        str(source),
        "--name",
        "uploaded.bin",
        "--node",
        url(ring, 1),
        "--json",
        owner=data_dir(ring, 1),
    )
    assert status == 0, err
    answer = json.loads(out)
    assert answer["record"]["name"] == "uploaded.bin"
    assert len(answer["holders"]) == 3  # min(k = 3, ring size 3)
    wait_until(lambda: found(url(ring, 2), "uploaded.bin"), 10, "uploaded.bin findable")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    status, out, err = cli(
        "get", "uploaded.bin", "--node", url(ring, 2), "-o", str(out_dir), "--json"
    )
    assert status == 0, err
    report = json.loads(out)
    assert (out_dir / "uploaded.bin").read_bytes() == source.read_bytes()
    assert sum(p["pieces"] for p in report["providers"]) == 4
    # The table form names the holders.
    status, out, err = cli("put", str(source), "--node", url(ring, 0), owner=data_dir(ring, 0))
    assert status == 0, err
    assert "local-name.bin stored" in out
    assert "3 holders" in out


def test_two_files_under_one_name(ring: Ring, tmp_path: Path) -> None:
    """Two nodes share different bytes as ``dup.txt``: show lists both records; get refuses to
    pick one (exit 2, with the list) unless --hash picks one or the node asked holds exactly
    one of them."""
    root = ring[2]
    (root / "s1" / "shared" / "dup.txt").write_bytes(b"first version\n")
    (root / "s2" / "shared" / "dup.txt").write_bytes(b"second version\n")
    wanted = content_hash([piece_digest(b"second version\n")]).hex()

    def both() -> bool:
        with NodeApi(url(ring, 0)) as api:
            try:
                records = api.network_file("dup.txt").records
            except NotFound as exc:
                raise NotYet(str(exc)) from exc
        if len(records) != 2:
            raise NotYet(f"{len(records)} records")
        return True

    wait_until(both, 10, "two records under dup.txt")
    status, out, _ = cli("show", "dup.txt", "--node", url(ring, 3))
    assert status == 0
    assert "2 different files under this name" in out
    assert wanted[:16] in out
    status, out, err = cli("get", "dup.txt", "--node", url(ring, 3), "-o", str(tmp_path))
    assert status == 2
    assert "2 different files are named 'dup.txt'" in err
    assert wanted in err
    assert "--hash" in err
    assert not (tmp_path / "dup.txt").exists()
    # node 2 shares the second version itself: asked there, get takes it and says so
    mine = tmp_path / "mine"
    mine.mkdir()
    status, out, err = cli("get", "dup.txt", "--node", url(ring, 2), "-o", str(mine))
    assert status == 0, err
    assert "the one this node holds" in err
    assert (mine / "dup.txt").read_bytes() == b"second version\n"
    status, out, err = cli(
        "get", "dup.txt", "--node", url(ring, 3), "-o", str(tmp_path), "--hash", wanted[:10]
    )
    assert status == 0, err
    assert (tmp_path / "dup.txt").read_bytes() == b"second version\n"


def test_unknown_file(ring: Ring, tmp_path: Path) -> None:
    for command in (["show", "nope.txt"], ["get", "nope.txt", "-o", str(tmp_path)]):
        one_line_error(*cli(*command, "--node", url(ring, 0)), "knows no file named 'nope.txt'")
    assert list(tmp_path.iterdir()) == []


BAD_NAMES = ["../up.txt", "a/b", "/etc/passwd", "..", ".", "nul\x00.txt", "ctl\x1b.txt", "é" * 200]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names(ring: Ring, tmp_path: Path, name: str) -> None:
    source = tmp_path / "payload.txt"
    source.write_bytes(b"payload")
    for command in (
        ["show", name],
        ["get", name, "-o", str(tmp_path)],
        ["put", str(source), "--name", name],
    ):
        one_line_error(*cli(*command, "--node", url(ring, 0)), "bad name")
    assert [p.name for p in tmp_path.iterdir()] == ["payload.txt"]


def test_put_of_a_missing_or_odd_file(ring: Ring, tmp_path: Path) -> None:
    one_line_error(*cli("put", str(tmp_path / "absent"), "--node", url(ring, 0)), "cannot read")
    one_line_error(*cli("put", str(tmp_path), "--node", url(ring, 0)), "not a regular file")


def test_bad_options(ring: Ring, tmp_path: Path) -> None:
    one_line_error(
        *cli("get", "alpha.bin", "--node", url(ring, 0), "--limit-rate", "fast"),
        "not a positive size",
    )
    one_line_error(
        *cli("get", "alpha.bin", "--node", url(ring, 0), "--hash", "ffff"),
        "no record has a content hash starting 'ffff'",
    )
    one_line_error(
        *cli("get", "alpha.bin", "--node", url(ring, 0), "-o", str(tmp_path / "no" / "x")),
        "no such directory",
    )


@pytest.mark.parametrize(
    "command", [["ls"], ["search", "x"], ["show", "x"], ["get", "x"], ["put", __file__]]
)
def test_unreachable_node(command: list[str]) -> None:
    one_line_error(*cli(*command, "--node", "http://127.0.0.254:9"), "unreachable")


def test_a_withdrawn_file_is_gone_at_once(ring: Ring, tmp_path: Path) -> None:
    """The only provider stops sharing the file: its next rescan withdraws it from the record
    (a tombstone, not a wait for the entry to expire), so the network soon knows no such file
    and a download says so in one line and saves nothing, no partial file either."""
    shared = ring[2] / "s0" / "shared"
    (shared / "gone.bin").write_bytes(b"x" * (100 << 10))
    wait_until(lambda: found(url(ring, 1), "gone.bin"), 10, "gone.bin findable")
    (shared / "gone.bin").unlink()

    def withdrawn() -> bool:
        with NodeApi(url(ring, 1)) as api:
            try:
                api.network_file("gone.bin")
            except NotFound:
                return True
        raise NotYet("still listed by the network")

    wait_until(withdrawn, 10, "gone.bin withdrawn from the network")
    status, out, err = cli("get", "gone.bin", "--node", url(ring, 1), "-o", str(tmp_path))
    one_line_error(status, out, err, "the network knows no file named 'gone.bin'")
    assert not (tmp_path / "gone.bin").exists()
    assert not list(tmp_path.glob("gone.bin.part*")), "a .part that can never complete"


def test_rm_withdraws_an_upload(ring: Ring, tmp_path: Path) -> None:
    """put prints the removal secret; rm on the node that accepted the upload needs none, rm
    elsewhere needs the right one; afterwards no node lists the name."""
    source = tmp_path / "to-remove.bin"
    source.write_bytes(random.Random(11).randbytes(150 << 10))
    status, out, err = cli("put", str(source), "--node", url(ring, 1), owner=data_dir(ring, 1))
    assert status == 0, err
    (line,) = [line for line in out.splitlines() if line.startswith("removal secret: ")]
    secret = line.split()[2]
    assert len(bytes.fromhex(secret)) == 32
    one_line_error(
        *cli("rm", "to-remove.bin", "--node", url(ring, 2), owner=data_dir(ring, 2)),
        "keeps no removal secret",
    )
    one_line_error(
        *cli(
            "rm",
            "to-remove.bin",
            "--node",
            url(ring, 2),
            "--secret",
            "0" * 64,
            owner=data_dir(ring, 2),
        ),
        "removes no upload",
    )
    status, out, err = cli(
        "rm", "to-remove.bin", "--node", url(ring, 1), "--json", owner=data_dir(ring, 1)
    )
    assert status == 0, err
    answer = json.loads(out)
    assert answer["complete"] is True
    assert len(answer["removed"]) == 3
    for i in range(4):
        with NodeApi(url(ring, i)) as api, pytest.raises(NotFound):
            api.network_file("to-remove.bin")
    one_line_error(
        *cli("rm", "to-remove.bin", "--node", url(ring, 1), owner=data_dir(ring, 1)),
        "keeps no removal secret",
    )
