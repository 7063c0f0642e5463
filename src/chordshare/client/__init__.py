"""The client side of chordshare: what a program uses to talk to a running node.

* :class:`NodeApi` / :class:`AsyncNodeApi` (``chordshare.client.rest``): blocking and asyncio
  REST clients returning the models of ``chordshare.api.schemas``;
* ``chordshare.client.download``: the direct downloader the CLI's ``get`` uses. It locates a file
  over REST and then fetches its pieces over gRPC straight from the providers, in parallel,
  verified and resumable, so the bytes never pass through the node that was asked.

Names resolve on first use, so a command that only needs the REST client does not import gRPC.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chordshare.client.rest import AsyncNodeApi, NodeApi

__all__ = ["AsyncNodeApi", "NodeApi"]

_HOMES = {
    "NodeApi": "chordshare.client.rest",
    "AsyncNodeApi": "chordshare.client.rest",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
