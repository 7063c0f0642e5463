"""``chordshare open`` against a live node: the URL printed, the browser asked (or not)."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from chordshare.cli import open_cmd
from chordshare.cli.main import app
from tests.conftest import ServiceRing

runner = CliRunner()


@pytest.fixture(scope="module")
def url(service_ring: ServiceRing) -> str:
    return service_ring.url(service_ring.start())


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []

    def fake_open(target: str, new: int = 0) -> bool:
        seen.append(target)
        return True

    monkeypatch.setattr(open_cmd.webbrowser, "open", fake_open)
    return seen


def test_open_prints_the_dashboard_url_and_opens_it(url: str, opened: list[str]) -> None:
    result = runner.invoke(app, ["open", "--node", url + "/"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == url + "/"
    assert opened == [url + "/"]


def test_no_browser_only_prints(url: str, opened: list[str]) -> None:
    result = runner.invoke(app, ["open", "--node", url, "--no-browser"])
    assert result.exit_code == 0
    assert result.stdout.strip() == url + "/"
    assert opened == []


def test_a_host_without_a_browser_says_so(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(open_cmd.webbrowser, "open", lambda target, new=0: False)
    result = runner.invoke(app, ["open", "--node", url])
    assert result.exit_code == 0
    assert result.stdout.strip() == url + "/"
    assert "no browser found" in result.stderr


def test_a_node_that_does_not_answer_is_an_error(opened: list[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening: connections are refused
        result = runner.invoke(app, ["open", "--node", f"http://127.0.0.1:{port}"])
    assert result.exit_code != 0
    assert opened == []
    assert result.stdout == ""
