"""The REST face of a node (FastAPI) and its typed httpx clients.

Public surface (pinned by ``tests/api/test_exports.py``):

* :func:`create_app` (``chordshare.api.app``): the FastAPI app of one node;
* :class:`NodeApi` / :class:`AsyncNodeApi` (``chordshare.api.client``): blocking and asyncio
  clients returning the models of ``chordshare.api.schemas``.

Names resolve on first use, so a CLI that only needs the client does not pay for importing
FastAPI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chordshare.api.app import create_app
    from chordshare.api.client import AsyncNodeApi, NodeApi

__all__ = ["AsyncNodeApi", "NodeApi", "create_app"]

_HOMES = {
    "create_app": "chordshare.api.app",
    "NodeApi": "chordshare.api.client",
    "AsyncNodeApi": "chordshare.api.client",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
