"""The public surface of ``chordshare.api`` and ``chordshare.client`` (DESIGN.md principle 11)."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import chordshare.client
from chordshare.api.app import create_app
from chordshare.client.rest import AsyncNodeApi, NodeApi


def test_exported_members() -> None:
    assert chordshare.client.__all__ == ["AsyncNodeApi", "NodeApi"]
    assert chordshare.client.NodeApi is NodeApi
    assert chordshare.client.AsyncNodeApi is AsyncNodeApi
    with pytest.raises(AttributeError):
        _ = chordshare.client.nothing_here


def test_create_app_signature() -> None:
    params = inspect.signature(create_app).parameters
    assert list(params) == ["node", "on_leave", "registry", "auth"]
    for name in ("on_leave", "registry", "auth"):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY


def test_client_methods() -> None:
    names = ["node", "peers", "lookup", "lookup_id", "ring", "leave", "health"]
    for cls in (NodeApi, AsyncNodeApi):
        assert all(callable(getattr(cls, n)) for n in names)
    assert all(inspect.iscoroutinefunction(getattr(AsyncNodeApi, n)) for n in names)


def test_the_client_does_not_import_fastapi() -> None:
    code = "import sys, chordshare.client.rest; print('fastapi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
