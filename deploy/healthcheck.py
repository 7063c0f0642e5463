"""Container health check: exit 0 when this node's ``/readyz`` answers 200, else 1.

The port is ``CHORDSHARE_HTTP_PORT`` (the image sets it); standard library only, so the check
needs nothing the image does not already have."""

import os
import sys
import urllib.error
import urllib.request

port = os.environ.get("CHORDSHARE_HTTP_PORT", "8000")
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=3) as reply:
        sys.exit(0 if reply.status == 200 else 1)
except (OSError, urllib.error.URLError):
    sys.exit(1)
