"""The node's live web dashboard, served at ``/``: plain HTML, CSS and ES modules packaged
under ``assets/`` (no build step, nothing fetched from elsewhere).

The page is a client of the node's own REST API (``/api/v1/...``) and its event stream; it holds
no data itself, so the shell and its assets are served to anyone, while every read the page
makes follows the node's read policy (a node with closed reads makes the page ask for the token
and send it as ``Authorization: Bearer``).
"""

from __future__ import annotations

from chordshare.api.dashboard.routes import ASSETS_PATH, CONTENT_SECURITY_POLICY, install

__all__ = ["ASSETS_PATH", "CONTENT_SECURITY_POLICY", "install"]
