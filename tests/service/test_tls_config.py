"""The node-to-node TLS switch in the config: all three files or none, readable, and a
certificate naming the node's own advertised address; anything else is a one-line error and
exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chordshare.cli.main import app
from chordshare.errors import ConfigError
from chordshare.service import certs
from chordshare.service.loading import load_config

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.upper().startswith("CHORDSHARE_"):
            monkeypatch.delenv(key)


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, str]:
    """A CA and a certificate for 127.0.0.1:7100, as config values."""
    certs.init_ca(tmp_path / "ca")
    files = certs.issue_node(tmp_path / "ca", "127.0.0.1:7100", tmp_path, name="n")
    return {
        "peer_tls_ca": str(tmp_path / "ca" / certs.CA_CERT),
        "peer_tls_cert": str(files.cert),
        "peer_tls_key": str(files.key),
    }


def toml(values: dict[str, object]) -> str:
    return "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in values.items())


def config_error(tmp_path: Path, values: dict[str, object]) -> str:
    path = tmp_path / "node.toml"
    path.write_text(toml(values))
    result = runner.invoke(app, ["config", "--config", str(path)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_all_three_files_turn_tls_on(pki: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_text(toml(pki))
    config = load_config(path, {})
    assert config.peer_tls
    assert load_config(None, {}).peer_tls is False


def test_the_environment_sets_the_files(
    pki: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in pki.items():
        monkeypatch.setenv(f"CHORDSHARE_{name.upper()}", value)
    config = load_config(None, {})
    assert config.peer_tls
    assert config.peer_tls_cert == pki["peer_tls_cert"]


@pytest.mark.parametrize("given", ["peer_tls_ca", "peer_tls_cert", "peer_tls_key"])
def test_one_file_alone_is_refused(pki: dict[str, str], tmp_path: Path, given: str) -> None:
    line = config_error(tmp_path, {given: pki[given]})
    assert f"{given} set but" in line
    assert "needs all three" in line


def test_two_files_without_the_third_are_refused(pki: dict[str, str], tmp_path: Path) -> None:
    line = config_error(tmp_path, {**pki, "peer_tls_key": ""})
    assert "set but peer_tls_key not" in line


def test_a_missing_file_is_named(pki: dict[str, str], tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.pem")
    line = config_error(tmp_path, {**pki, "peer_tls_ca": missing})
    assert "peer_tls_ca" in line
    assert "nowhere.pem" in line
    assert "No such file" in line


def test_a_certificate_for_another_address_is_refused_by_the_loader(
    pki: dict[str, str],
) -> None:
    paths = [Path(pki[n]) for n in ("peer_tls_ca", "peer_tls_cert", "peer_tls_key")]
    assert certs.load_peer_tls(*paths, "127.0.0.1:7100").cert == paths[1].read_bytes()
    with pytest.raises(ConfigError, match=r"is for 127\.0\.0\.1:7100, not .* 127\.0\.0\.1:7101"):
        certs.load_peer_tls(*paths, "127.0.0.1:7101")


def test_a_certificate_of_another_ca_or_a_foreign_key_is_refused(
    pki: dict[str, str], tmp_path: Path
) -> None:
    certs.init_ca(tmp_path / "other")
    other = certs.issue_node(tmp_path / "other", "127.0.0.1:7100", tmp_path, name="o")
    ca, cert, key = (Path(pki[n]) for n in ("peer_tls_ca", "peer_tls_cert", "peer_tls_key"))
    with pytest.raises(ConfigError, match="is not signed by peer_tls_ca"):
        certs.load_peer_tls(ca, other.cert, other.key, "127.0.0.1:7100")
    with pytest.raises(ConfigError, match="is not the key of peer_tls_cert"):
        certs.load_peer_tls(ca, cert, other.key, "127.0.0.1:7100")
    assert key.exists()


def test_a_node_whose_certificate_names_another_address_exits_2(
    pki: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "node.toml"
    (tmp_path / "shared").mkdir()  # chordshare node refuses a shared_dir that does not exist
    path.write_text(
        toml(
            {
                **pki,
                "listen_host": "127.0.0.1",
                "grpc_port": 7101,
                "http_port": 0,
                "shared_dir": str(tmp_path / "shared"),
                "data_dir": str(tmp_path / "data"),
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CHORDSHARE_")}
    done = subprocess.run(
        [sys.executable, "-m", "chordshare.cli.main", "node", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "is for 127.0.0.1:7100, not this node's advertised gRPC address 127.0.0.1:7101" in (
        done.stderr
    )
    assert "Traceback" not in done.stderr
