"""``chordshare node`` and its ``shared_dir``: a missing one is refused (exit 2, naming the path
and the setting that creates it) unless ``create_shared_dir`` asks for it; one that is a file
says so; a created one is logged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chordshare.cli.launcher import LocalCluster
from chordshare.cli.main import app
from chordshare.errors import ConfigError
from chordshare.service.dirs import check_shared_dir, make_dirs

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.upper().startswith("CHORDSHARE_"):
            monkeypatch.delenv(key)


def node(tmp_path: Path, shared: Path, *args: str) -> tuple[int, list[str]]:
    config = tmp_path / "node.toml"
    config.write_text(f'shared_dir = "{shared}"\ndata_dir = "{tmp_path / "data"}"\n')
    result = runner.invoke(app, ["node", "--config", str(config), *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.stderr.strip().splitlines()


def test_a_missing_shared_dir_is_refused_naming_the_path_and_the_switch(tmp_path: Path) -> None:
    missing = tmp_path / "shraed"  # a typo
    status, lines = node(tmp_path, missing)
    assert status == 2
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"chordshare: shared_dir {missing} does not exist")
    assert "create_shared_dir = true" in lines[0]
    assert "--create-shared-dir" in lines[0]
    assert not missing.exists()
    assert not (tmp_path / "data").exists()  # refused before anything was made


def test_a_shared_dir_that_is_a_file_says_so(tmp_path: Path) -> None:
    a_file = tmp_path / "shared"
    a_file.write_text("not a directory\n")
    for args in ((), ("--create-shared-dir",)):
        status, lines = node(tmp_path, a_file, *args)
        assert status == 2
        assert lines == [f"chordshare: shared_dir {a_file} is a file, not a directory"]


def test_make_dirs_names_the_setting_of_a_path_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("")
    with pytest.raises(ConfigError, match=r"data_dir .* is a file, not a directory"):
        make_dirs(data_dir=tmp_path / "data")
    with pytest.raises(ConfigError, match=r"cannot create data_dir .*: a parent of it is a file"):
        make_dirs(data_dir=tmp_path / "data" / "below")


def test_check_shared_dir_allows_a_missing_one_only_when_asked(tmp_path: Path) -> None:
    wanted = tmp_path / "a" / "b"
    with pytest.raises(ConfigError):
        check_shared_dir(wanted, create=False)
    check_shared_dir(wanted, create=True)  # allowed: the node's start creates it
    assert not wanted.exists()
    make_dirs(shared_dir=wanted)
    assert wanted.is_dir()
    check_shared_dir(wanted, create=False)


@pytest.mark.slow
@pytest.mark.xdist_group("e2e")
def test_a_created_shared_dir_is_logged(process_cluster: LocalCluster) -> None:
    """The cluster's nodes pass create_shared_dir (their work directory is fresh)."""
    started = process_cluster.start()
    process_cluster.wait_ready([started], 60)
    shared = process_cluster.workdir / started.name / "shared"
    assert shared.is_dir()
    created = [line for line in started.log_path.read_text().splitlines() if "service.dirs" in line]
    assert len(created) == 1
    assert created[0].endswith(f"created shared_dir {shared}")
    assert "[--------]" not in created[0]  # logged once the node knows its id
