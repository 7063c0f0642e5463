"""With ``--json``, a client command's failure is one JSON object on stderr
(``{"error": ..., "detail": ...}``) and a non-zero exit status; without it, one plain line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chordshare.cli.main import app
from tests.conftest import ServiceRing

runner = CliRunner()
NOBODY = "http://127.0.0.254:9"  # nothing listens there: connection refused


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def json_error(status: int, out: str, err: str) -> dict[str, str]:
    assert status != 0
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    body = json.loads(lines[0])
    assert set(body) == {"error", "detail"}
    return {str(k): str(v) for k, v in body.items()}


@pytest.mark.parametrize(
    "command",
    [["ring"], ["lookup", "k"], ["peers"], ["info"], ["ls"], ["show", "a.txt"], ["search", "a"]],
)
def test_an_unreachable_node_is_a_json_error(command: list[str]) -> None:
    body = json_error(*cli(*command, "--node", NOBODY, "--json"))
    assert body["error"] == "PeerUnavailable"
    assert "127.0.0.254:9" in body["detail"]
    assert "unreachable" in body["detail"]


def test_without_json_the_same_failure_is_one_plain_line() -> None:
    json_error(*cli("ring", "--node", NOBODY, "--json"))
    status, _, err = cli("ring", "--node", NOBODY)  # the --json of the last run is forgotten
    assert status == 1
    assert err.startswith("chordshare: ")
    assert len(err.strip().splitlines()) == 1


def test_errors_of_a_live_node_are_json_too(service_ring: ServiceRing, tmp_path: Path) -> None:
    node = service_ring.start()
    url = service_ring.url(node)
    body = json_error(*cli("show", "no-such-file.txt", "--node", url, "--json"))
    assert body["error"] == "NotFound"
    assert "no-such-file.txt" in body["detail"]

    source = tmp_path / "mine.txt"
    source.write_bytes(b"x")
    status, out, err = cli("put", str(source), "--node", url, "--token", "wrong", "--json")
    body = json_error(status, out, err)
    assert status == 1
    assert body["error"] == "AccessDenied"
    assert "wrong API token" in body["detail"]

    body = json_error(*cli("put", str(tmp_path / "absent.txt"), "--node", url, "--json"))
    assert "absent.txt" in body["detail"]


@pytest.mark.parametrize(
    ("command", "detail"),
    [
        (["lookup", "--json"], "Missing argument"),
        (["lookup", "k", "--bogus", "--json"], "No such option: --bogus"),
        (["rm", "--json"], "Missing argument"),
    ],
)
def test_a_usage_error_with_json_is_a_json_error(command: list[str], detail: str) -> None:
    status, out, err = cli(*command)
    assert status == 2
    body = json_error(status, out, err)
    assert body["error"] == "UsageError"
    assert detail in body["detail"]
