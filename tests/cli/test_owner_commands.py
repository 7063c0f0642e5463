"""``put`` and ``leave`` as the node's owner: the token comes from --token, the environment or the
node's token file, found without flags; a missing or wrong token is one line saying how to pass
it. ``chordshare config`` never prints the token."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from chordshare.cli.launcher import wait_until
from chordshare.cli.main import app
from chordshare.service.config_rest import TOKEN_FILE
from chordshare.service.node_service import NodeService
from tests.conftest import ServiceRing

runner = CliRunner()


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def refused(status: int, out: str, err: str) -> str:
    assert status == 1, out + err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("chordshare: the node refused"), err
    assert "--token" in err, err
    assert "CHORDSHARE_API_TOKEN" in err, err
    assert "Traceback" not in out + err
    return err


@pytest.fixture
def node(service_ring: ServiceRing, tmp_path: Path) -> tuple[NodeService, Path]:
    data = tmp_path / "data"
    service = service_ring.start(shared_dir=str(tmp_path / "shared"), data_dir=str(data))
    return service, data


def test_put_and_leave_with_the_token_file_found_from_the_config(
    service_ring: ServiceRing, node: tuple[NodeService, Path], tmp_path: Path
) -> None:
    service, data = node
    url = service_ring.url(service)
    source = tmp_path / "mine.txt"
    source.write_bytes(b"my own bytes\n")
    config = tmp_path / "node.toml"
    config.write_text(f'data_dir = "{data}"\n')

    status, _, err = cli("put", str(source), "--node", url, "--config", str(tmp_path / "x.toml"))
    assert status == 1
    assert "config file not found" in err
    err = refused(*cli("put", str(source), "--node", url))
    assert "no token found" in err
    err = refused(*cli("put", str(source), "--node", url, "--token", "wrong"))
    assert "wrong API token" in err
    refused(*cli("leave", "--node", url, env={"CHORDSHARE_API_TOKEN": "wrong"}))
    assert not service.stop_requested

    status, out, err = cli("put", str(source), "--node", url, "--config", str(config))
    assert status == 0, err
    assert "mine.txt stored" in out
    token = (data / TOKEN_FILE).read_text().strip()
    status, _, err = cli("put", str(source), "--name", "again.txt", "--node", url, "--token", token)
    assert status == 0, err

    status, out, err = cli("leave", "--node", url, env={"CHORDSHARE_CONFIG": str(config)})
    assert status == 0, err
    assert "is leaving the ring" in out
    wait_until(lambda: service.stopped.is_set(), 20, "the node to stop after leave")


def test_a_token_file_others_can_read_is_one_line(
    service_ring: ServiceRing, node: tuple[NodeService, Path], tmp_path: Path
) -> None:
    service, data = node
    (data / TOKEN_FILE).chmod(0o644)
    try:
        status, _, err = cli(
            "leave", "--node", service_ring.url(service), env={"CHORDSHARE_DATA_DIR": str(data)}
        )
    finally:
        (data / TOKEN_FILE).chmod(0o600)
    assert status == 1
    assert len(err.strip().splitlines()) == 1
    assert "readable by others" in err
    assert not service.stop_requested


def test_config_masks_the_token(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text('api_token = "s3cret-token-value"\n')
    status, out, err = cli("config", "--config", str(config))
    assert status == 0, err
    assert "s3cret-token-value" not in out
    assert 'api_token = "********"' in out
    status, out, _ = cli("config", env={"CHORDSHARE_DATA_DIR": str(tmp_path)})
    assert 'api_token = ""' in out
