"""``chordshare config``: a documented example derived from the model, and a validator."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chordshare.cli.main import app
from chordshare.service.config import NodeConfig
from chordshare.service.loading import load_config

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.upper().startswith("CHORDSHARE_"):
            monkeypatch.delenv(key)


def test_example_documents_every_field_and_loads_as_the_defaults(tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", "--example"])
    assert result.exit_code == 0
    settings = [line[2:] for line in result.stdout.splitlines() if " = " in line]
    assert [s.split(" = ")[0] for s in settings] == list(NodeConfig.model_fields)
    path = tmp_path / "node.toml"
    path.write_text("\n".join(settings) + "\n")
    assert load_config(path) == load_config(
        None, {"shared_dir": tmp_path / "shared", "data_dir": tmp_path / "data"}
    )


def test_effective_settings_follow_file_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "node.json"
    path.write_text('{"grpc_port": 7100, "seeds": ["http://10.0.0.1:8000"]}')
    result = runner.invoke(
        app, ["config", "--config", str(path)], env={"CHORDSHARE_HTTP_PORT": "8100"}
    )
    assert result.exit_code == 0
    values = tomllib.loads(result.stdout)
    assert values["grpc_port"] == 7100
    assert values["http_port"] == 8100
    assert values["seeds"] == ["http://10.0.0.1:8000"]
    assert values["shared_dir"] == str(tmp_path / "shared")


def test_invalid_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_text("ring_bits = 500\n")
    result = runner.invoke(app, ["config", "--config", str(path)])
    assert result.exit_code == 2
    assert "field 'ring_bits'" in result.stderr
