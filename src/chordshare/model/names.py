"""File names are display names, never paths (DESIGN.md §5).

Every name that enters chordshare (a gRPC header, a REST path, a CLI argument, a file found in the
shared directory) goes through :func:`validate_name` before it is used for anything. A valid name
is a single path component on every platform we care about, so ``directory / name`` always stays
inside ``directory``; storage code still checks that after joining (defence in depth).

A checked name is a :class:`DisplayName`: a ``str`` whose type records that it passed. Checking
a ``DisplayName`` again costs one ``isinstance``, so the layers a name crosses after its entry
point (route, node, store) can each insist on a valid name without validating it twice.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from chordshare.errors import InvalidName

MAX_NAME_BYTES = 255
"""255 bytes of UTF-8: the NAME_MAX of ext4, XFS, btrfs and APFS, so a valid name can always be
created as a file (a longer one fails with ENAMETOOLONG half-way through a transfer)."""

_SEPARATORS = ("/", "\\")
"""'/' is the POSIX separator; '\\' is the Windows one, rejected too so a name stored here cannot
become a path on a Windows peer or in a Windows CLI's ``-o`` directory."""

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Bidirectional overrides and isolates: invisible, and they let ``txt.exe`` display as
``exe.txt``; a display name must display as what it is."""

_CONTROL_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
"""C0/C1 controls and DEL (Cc), lone surrogates (Cs), line and paragraph separators (Zl, Zp):
they break terminals, logs and HTTP headers."""

_DRIVE = re.compile(r"^[A-Za-z]:")
"""``C:name`` is a drive-relative path on Windows, i.e. not a plain component."""


class DisplayName(str):
    """A name that passed :func:`name_problem`; constructing one is the check."""

    __slots__ = ()

    def __new__(cls, name: str) -> DisplayName:
        if isinstance(name, DisplayName):
            return name
        problem = _problem(name)
        if problem is not None:
            raise InvalidName(problem)
        return super().__new__(cls, name)


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a safe display name, or ``None`` if it is."""
    if isinstance(name, DisplayName):
        return None
    return _problem(name)


def _problem(name: str) -> str | None:
    if not isinstance(name, str):
        return "name must be a string"
    if name == "":
        return "name is empty"
    if "\x00" in name:
        return "name contains a NUL character"
    for sep in _SEPARATORS:
        if sep in name:
            return f"name contains a path separator {sep!r}"
    if name in (".", ".."):
        return f"name {name!r} refers to a directory"
    if _DRIVE.match(name):
        return "name starts with a drive letter (an absolute or drive-relative path)"
    for ch in name:
        if unicodedata.category(ch) in _CONTROL_CATEGORIES or ch in _BIDI_CONTROLS:
            return f"name contains a control character U+{ord(ch):04X}"
    size = len(name.encode("utf-8"))
    if size > MAX_NAME_BYTES:
        return f"name is {size} bytes of UTF-8, over the limit of {MAX_NAME_BYTES}"
    return None


def validate_name(name: str) -> DisplayName:
    """Return ``name`` as a :class:`DisplayName` if it is a safe display name; raise
    :class:`InvalidName` with the reason otherwise. Never strips or rewrites: a name that needs
    fixing is refused, so two different names can never map to the same file."""
    return DisplayName(name)


def is_valid_name(name: str) -> bool:
    return name_problem(name) is None


def path_in(directory: Path, name: str) -> Path:
    """``directory / name`` for a valid ``name``, checked to be a direct child of ``directory``
    (defence in depth: validation already guarantees it). Raises :class:`InvalidName`."""
    path = directory / validate_name(name)
    if os.path.dirname(os.path.normpath(path)) != os.path.normpath(directory):
        raise InvalidName(f"name {name!r} does not stay inside its directory")
    return path
