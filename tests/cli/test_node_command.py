"""``chordshare node``: flags derived from the config model; every bad input is one line on
stderr and exit status 2, before any server starts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chordshare.cli.main import app
from chordshare.service.config import NodeConfig

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.upper().startswith("CHORDSHARE_"):
            monkeypatch.delenv(key)


def test_every_config_field_is_a_flag() -> None:
    result = runner.invoke(app, ["node", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in NodeConfig.model_fields:
        assert f"--{name.replace('_', '-')}" in result.output


@pytest.mark.parametrize(
    ("content", "args", "expected"),
    [
        ("grpc_port = 70000\n", [], "field 'grpc_port'"),
        ("wat = 1\n", [], "field 'wat': unknown field"),
        ('grpc_port = "x"\n', [], "valid integer"),
        ("grpc_port = 7000\n", ["--http-port", "65536"], "flag --http-port: field 'http_port'"),
        ("grpc_port = [\n", [], "not valid TOML"),
    ],
)
def test_config_errors_exit_2_with_one_line(
    tmp_path: Path, content: str, args: list[str], expected: str
) -> None:
    path = tmp_path / "node.toml"
    path.write_text(content)
    result = runner.invoke(app, ["node", "--config", str(path), *args])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("chordshare: invalid configuration: ")
    assert expected in lines[0]
    assert "Traceback" not in result.output


def test_missing_config_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["node", "--config", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert "nope.json: config file not found" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "node.ini"
    path.write_text("[node]\n")
    result = runner.invoke(app, ["node", "--config", str(path)])
    assert result.exit_code == 2
    assert "unknown config file extension '.ini'" in result.stderr


def test_environment_error_names_the_variable(tmp_path: Path) -> None:
    path = tmp_path / "node.json"
    path.write_text("{}")
    result = runner.invoke(
        app, ["node", "--config", str(path)], env={"CHORDSHARE_RING_BITS": "161"}
    )
    assert result.exit_code == 2
    assert "environment variable CHORDSHARE_RING_BITS: field 'ring_bits'" in result.stderr


def test_unknown_flag_is_a_usage_error() -> None:
    result = runner.invoke(app, ["node", "--no-such-setting", "1"])
    assert result.exit_code == 2


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("chordshare ")


def test_commands_are_mounted() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for command in ("node", "config", "demo", "ring", "lookup", "peers", "info", "sim"):
        assert f" {command} " in result.stdout
    assert runner.invoke(app, ["sim", "--help"]).exit_code == 0


def test_an_http_fd_that_is_not_a_socket_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_text("http_port = 0\n")
    with path.open() as not_a_socket:
        fd = not_a_socket.fileno()
        result = runner.invoke(app, ["node", "--config", str(path), "--http-fd", str(fd)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"chordshare: --http-fd {fd}: not a socket")
