"""NodeConfig: precedence (file < environment < flags), path resolution, validation, and the
one-line error every bad input gets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chordshare.errors import ConfigError
from chordshare.service.config import NodeConfig, host_port
from chordshare.service.loading import load_config


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CHORDSHARE_* variable of the developer's shell leaks into these tests."""
    import os

    for key in list(os.environ):
        if key.upper().startswith("CHORDSHARE_"):
            monkeypatch.delenv(key)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults() -> None:
    config = load_config()
    assert config.listen_host == "0.0.0.0"
    assert config.advertise_host == "127.0.0.1"
    assert (config.grpc_port, config.http_port) == (50051, 8000)
    assert config.seeds == []
    assert config.ring_bits == 160
    assert config.successor_list_size == 16
    assert config.piece_size == 1024 * 1024
    assert config.replication_factor == 3
    assert config.shared_dir.is_absolute()


def test_advertise_host_follows_a_specific_listen_host() -> None:
    assert load_config(overrides={"listen_host": "127.0.0.7"}).advertise_host == "127.0.0.7"
    config = load_config(overrides={"listen_host": "0.0.0.0", "advertise_host": "10.1.2.3"})
    assert config.advertise_host == "10.1.2.3"


def test_toml_and_json_files(tmp_path: Path) -> None:
    toml = write(tmp_path / "n.toml", 'grpc_port = 7001\nseeds = ["http://10.0.0.1:8000/"]\n')
    assert load_config(toml).grpc_port == 7001
    assert load_config(toml).seeds == ["http://10.0.0.1:8000"]
    js = write(tmp_path / "n.json", json.dumps({"grpc_port": 7002, "log_level": "debug"}))
    config = load_config(js)
    assert (config.grpc_port, config.log_level) == (7002, "DEBUG")


def test_precedence_file_env_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "n.toml", "grpc_port = 7001\nhttp_port = 8001\nring_bits = 32\n")
    monkeypatch.setenv("CHORDSHARE_GRPC_PORT", "7002")
    monkeypatch.setenv("CHORDSHARE_HTTP_PORT", "8002")
    config = load_config(path, {"http_port": "8003", "successor_list_size": None})
    assert config.ring_bits == 32  # file only
    assert config.grpc_port == 7002  # env beats file
    assert config.http_port == 8003  # flag beats env
    assert config.successor_list_size == 16  # a None flag is "not given"


def test_seeds_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHORDSHARE_SEEDS", "http://a:1, http://b:2/")
    assert load_config().seeds == ["http://a:1", "http://b:2"]
    monkeypatch.setenv("CHORDSHARE_SEEDS", '["http://c:3"]')
    assert load_config().seeds == ["http://c:3"]
    assert load_config(overrides={"seeds": ["http://d:4,http://e:5"]}).seeds == [
        "http://d:4",
        "http://e:5",
    ]


def test_relative_paths_resolve_against_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    path = write(conf / "n.toml", 'shared_dir = "files"\n')
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(path)
    assert config.shared_dir == conf / "files"
    assert config.data_dir == conf / "data"  # the default, relative to the file too
    flagged = load_config(path, {"data_dir": "state"})
    assert flagged.data_dir == elsewhere / "state"  # flags resolve against the cwd
    assert load_config(path, {"data_dir": "/abs"}).data_dir == Path("/abs")


def test_ring_settings_carry_the_maintenance_values() -> None:
    config = load_config(
        overrides={"stabilize_interval": 0.3, "successor_list_size": 5, "rpc_timeout": 0.7}
    )
    settings = config.ring_settings()
    assert settings.stabilize_interval == 0.3
    assert settings.successor_list_size == 5
    assert settings.rpc_timeout == 0.7


def test_host_port_brackets_ipv6() -> None:
    assert host_port("127.0.0.2", 1) == "127.0.0.2:1"
    assert host_port("::1", 2) == "[::1]:2"
    assert host_port("node.example", 3) == "node.example:3"


def test_every_field_is_documented() -> None:
    for name, info in NodeConfig.model_fields.items():
        assert info.description, f"{name} has no docstring"


@pytest.mark.parametrize(
    ("text", "suffix", "expected"),
    [
        ("grpc_port = 70000\n", ".toml", "field 'grpc_port': Input should be less than or equal"),
        ("http_port = -1\n", ".toml", "field 'http_port'"),
        ('grpc_port = "many"\n', ".toml", "field 'grpc_port': Input should be a valid integer"),
        ("colour = 'blue'\n", ".toml", "field 'colour': unknown field"),
        ('seeds = ["ftp://x"]\n', ".toml", "field 'seeds': not an http(s) URL"),
        ("ring_bits = 0\n", ".toml", "field 'ring_bits'"),
        ("stabilize_interval = 0\n", ".toml", "field 'stabilize_interval'"),
        ("piece_size = 16384\n", ".toml", "more than one DHT record can list"),
        ("republish_interval = 9999\n", ".toml", "republish_interval must be less"),
        ("replication_factor = 40\n", ".toml", "exceeds successor_list_size"),
        ('advertise_host = "0.0.0.0"\n', ".toml", "unspecified address"),
        ("grpc_port = = 1\n", ".toml", "not valid TOML"),
        ('{"grpc_port": 1,}', ".json", "not valid JSON"),
        ("[1, 2]", ".json", "top level of a JSON config must be an object"),
        ("grpc_port: 1\n", ".yaml", "unknown config file extension '.yaml'"),
    ],
)
def test_bad_file_values(tmp_path: Path, text: str, suffix: str, expected: str) -> None:
    path = write(tmp_path / f"node{suffix}", text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    assert expected in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.toml")


def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHORDSHARE_GRPC_PORT", "99999")
    with pytest.raises(ConfigError, match=r"environment variable CHORDSHARE_GRPC_PORT: field"):
        load_config()


def test_bad_flag_names_the_flag(tmp_path: Path) -> None:
    path = write(tmp_path / "n.toml", "grpc_port = 7000\n")
    with pytest.raises(ConfigError, match=r"^flag --rpc-timeout: field 'rpc_timeout'"):
        load_config(path, {"rpc_timeout": "-1"})
