"""Client commands (ring, lookup, peers, info) against live nodes: three NodeServices with real
gRPC and REST on loopback, in one background event loop."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from chordshare.api.schemas.ring import NodeView
from chordshare.cli.launcher import NotYet, wait_until
from chordshare.cli.main import app
from chordshare.client.rest import NodeApi
from chordshare.ring import IdSpace
from chordshare.ring.oracle import RingOracle
from tests.conftest import FAST, ServiceRing

runner = CliRunner()
SPACE = IdSpace(FAST["ring_bits"])


@pytest.fixture(scope="module")
def urls(service_ring: ServiceRing) -> list[str]:
    first = service_ring.start()
    second = service_ring.start([service_ring.url(first)])
    third = service_ring.start([service_ring.url(second)])
    found = [service_ring.url(s) for s in (first, second, third)]

    def formed() -> bool:
        with NodeApi(found[0]) as api:
            walk = api.ring()
        if not walk.closed or len(walk.nodes) != 3:
            raise NotYet(f"walk {walk.stopped} with {len(walk.nodes)} nodes")
        return True

    wait_until(formed, 20, "ring of 3")
    return found


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(
        app,
        list(args),
        env={"COLUMNS": "200", **(env or {})},
    )
    return result.exit_code, result.stdout, result.stderr


def view(url: str) -> NodeView:
    with NodeApi(url) as api:
        return api.node()


def test_ring_json(urls: list[str]) -> None:
    status, out, _ = cli("ring", "--node", urls[1], "--json")
    assert status == 0
    walk = json.loads(out)
    assert walk["closed"] is True
    ids = [int(p["id"], 16) for p in walk["nodes"]]
    assert ids[0] == int(view(urls[1]).id, 16)
    assert sorted(ids) == sorted(int(view(u).id, 16) for u in urls)


def test_ring_table(urls: list[str]) -> None:
    status, out, _ = cli("ring", "--node", urls[0])
    assert status == 0
    assert "3 nodes, closed" in out
    for url in urls:
        assert url in out


def test_lookup_agrees_with_the_oracle(urls: list[str]) -> None:
    oracle = RingOracle(SPACE, [int(view(u).id, 16) for u in urls])
    for key in ("alpha", "beta.txt", "γ/δ"):
        status, out, _ = cli("lookup", key, "--node", urls[2], "--json")
        assert status == 0
        answer = json.loads(out)
        assert answer["key"] == key
        assert int(answer["key_id"], 16) == SPACE.hash_key(key)
        assert int(answer["owner"]["id"], 16) == oracle.successor(SPACE.hash_key(key))
        status, out, _ = cli("lookup", key, "--node", urls[2], "--json", "--routed")
        assert status == 0
        routed = json.loads(out)
        assert routed["owner"] == answer["owner"]
        assert routed["cached"] is False


def test_lookup_table_shows_hops(urls: list[str]) -> None:
    status, out, _ = cli("lookup", "holiday.jpg", "--node", urls[0])
    assert status == 0
    assert "hops" in out
    assert "holiday.jpg" in out


def test_peers_and_info(urls: list[str]) -> None:
    status, out, _ = cli("peers", "--node", urls[0], "--json")
    assert status == 0
    assert len(json.loads(out)["peers"]) == 2
    status, out, _ = cli("info", "--node", urls[0])
    assert status == 0
    me = view(urls[0])
    assert me.id[:8] in out
    assert "predecessor" in out
    status, out, _ = cli("info", "--node", urls[0], "--json")
    assert json.loads(out)["id"] == me.id
    status, out, _ = cli("peers", "--node", urls[0])
    assert status == 0
    assert "Peers known to" in out


def test_node_defaults_to_the_environment(urls: list[str]) -> None:
    status, out, _ = cli("info", "--json", env={"CHORDSHARE_NODE": urls[2]})
    assert status == 0
    assert json.loads(out)["http_url"] == urls[2]


@pytest.mark.parametrize("command", [["ring"], ["lookup", "k"], ["peers"], ["info"]])
def test_unreachable_node_is_one_line(command: list[str]) -> None:
    # Port 9 (discard) on a loopback address nothing listens on: connection refused at once.
    status, out, err = cli(*command, "--node", "http://127.0.0.254:9")
    assert status == 1
    assert err.startswith("chordshare: ")
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err
