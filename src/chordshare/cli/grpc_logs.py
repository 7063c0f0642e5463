"""gRPC's own log lines (its C core writes ``E1202 ... add_port.cc:83] Failed to add port``,
``Got goaway`` and the like straight to stderr) are for debugging gRPC, not for the user of
the CLI: the project reports those failures itself, in one line. They stay off unless asked
for, with ``chordshare node --verbose`` or the ``GRPC_VERBOSITY`` environment variable.

gRPC reads ``GRPC_VERBOSITY`` once, when it is first imported, so this must run before
anything imports ``grpc``: the CLI imports no gRPC module until a command needs one
(``tests/cli/test_grpc_logs.py`` pins that).
"""

from __future__ import annotations

import os

VARIABLE = "GRPC_VERBOSITY"
QUIET = "NONE"
"""gRPC's level that prints nothing: even its ERROR lines repeat what the CLI reports."""
VERBOSE = "INFO"


def quiet_by_default() -> None:
    """Silence gRPC's C core unless the user's environment already says how loud it is."""
    os.environ.setdefault(VARIABLE, QUIET)


def verbose() -> None:
    """Let gRPC's C core log at INFO (its connection events, its errors), or at DEBUG when
    the environment asks for that."""
    if os.environ.get(VARIABLE, "").upper() != "DEBUG":
        os.environ[VARIABLE] = VERBOSE
