"""validate_name: every rejection carries its reason; no accepted name escapes a directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chordshare.errors import InvalidName
from chordshare.model.names import MAX_NAME_BYTES, is_valid_name, path_in, validate_name

BAD_NAMES = [
    ("", "empty"),
    (".", "directory"),
    ("..", "directory"),
    ("a/b", "separator"),
    ("/etc/passwd", "separator"),
    ("../x", "separator"),
    ("a\\b", "separator"),
    ("C:evil", "drive"),
    ("a\x00b", "NUL"),
    ("a\nb", "control"),
    ("a\x7fb", "control"),
    ("a\u2028b", "control"),
    ("txt\u202eexe", "control"),
    ("x" * (MAX_NAME_BYTES + 1), "over the limit"),
    ("é" * 128, "over the limit"),
]


@pytest.mark.parametrize(("name", "reason"), BAD_NAMES)
def test_bad_names_are_refused_with_their_reason(name: str, reason: str) -> None:
    with pytest.raises(InvalidName, match=reason):
        validate_name(name)


@pytest.mark.parametrize(
    "name", ["a", "report.pdf", "..hidden", "...", ".bashrc", "a..b", "Ünïcødé ✓", "x" * 255]
)
def test_good_names_are_returned_unchanged(name: str) -> None:
    assert validate_name(name) == name


TRICKY = st.sampled_from(["/", "\\", ".", ":", "C", "\x00", "\n", "~", "a", "é"])
NAMES = st.text(alphabet=st.one_of(TRICKY, st.characters()), max_size=300)


@given(NAMES)
def test_no_accepted_name_resolves_outside_the_directory(name: str) -> None:
    base = Path("/srv/chordshare/data")
    if not is_valid_name(name):
        return
    joined = base / name
    assert joined.parent == base
    assert joined.name == name
    assert (base / name).resolve(strict=False).parent == base.resolve(strict=False)
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES


@given(NAMES)
def test_path_in_never_leaves_the_directory(name: str) -> None:
    base = Path("/srv/chordshare/data")
    try:
        path = path_in(base, name)
    except InvalidName:
        assert not is_valid_name(name)
        return
    assert path.parent == base
    assert os.path.normpath(path).startswith(str(base) + os.sep)
