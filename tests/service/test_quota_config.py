"""The blob store's quotas in NodeConfig: "unlimited" unless set, a positive number of bytes
when set, from the file, the environment or a flag, with one line naming the source for
anything else; the node's blob store gets them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chordshare.errors import ConfigError
from chordshare.service.config import quota_bytes
from chordshare.service.loading import load_config


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.upper().startswith("CHORDSHARE_"):
            monkeypatch.delenv(key)


def test_unset_quotas_are_unlimited() -> None:
    config = load_config()
    assert (config.pinned_quota, config.cache_quota) == ("unlimited", "unlimited")
    assert quota_bytes(config.pinned_quota) is None


def test_quotas_from_file_environment_and_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "node.toml"
    path.write_text('pinned_quota = 1000000\ncache_quota = "unlimited"\n')
    assert load_config(path).pinned_quota == 1_000_000
    monkeypatch.setenv("CHORDSHARE_CACHE_QUOTA", "5000")
    config = load_config(path, {"pinned_quota": "2000"})
    assert (config.pinned_quota, config.cache_quota) == (2000, 5000)
    assert (quota_bytes(config.pinned_quota), quota_bytes(config.cache_quota)) == (2000, 5000)


@pytest.mark.parametrize("bad", ["0", "-5", "ten", "1.5", str(1 << 61)])
def test_a_quota_must_be_positive_bytes(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv("CHORDSHARE_PINNED_QUOTA", bad)
    with pytest.raises(ConfigError) as error:
        load_config()
    message = str(error.value)
    assert message.startswith("environment variable CHORDSHARE_PINNED_QUOTA: field 'pinned_quota'")
    assert 'positive number of bytes (at most 2^60) or "unlimited"' in message
    assert "\n" not in message


def test_a_zero_quota_in_a_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "node.json"
    path.write_text('{"cache_quota": 0}')
    with pytest.raises(ConfigError, match="field 'cache_quota'"):
        load_config(path)
