"""The layering of DESIGN.md §2, beyond what import-linter checks (it cannot see the stdlib)."""

from __future__ import annotations

import ast
from pathlib import Path

import chordshare

SRC = Path(chordshare.__file__).parent

IO_MODULES = {"asyncio", "socket", "sqlite3", "os", "pathlib", "io", "time", "threading", "random"}
"""The ring core decides; it never does I/O nor reads time or chance: tests give it plain values."""


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_ring_core_is_pure() -> None:
    files = sorted((SRC / "ring").glob("*.py"))
    assert files
    for path in files:
        bad = imported_modules(path) & IO_MODULES
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_source_files_stay_small() -> None:
    """One concept per file (DESIGN.md §2): no hand-written module over 400 lines."""
    for path in SRC.rglob("*.py"):
        if "generated" in path.parts:
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 400, f"{path.relative_to(SRC)} has {lines} lines"


def code_strings(path: Path) -> list[str]:
    """The string literals of a module's code: docstrings and other bare string statements
    (documentation) left out, f-string parts included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
    ]


def test_below_the_api_no_code_spells_a_rest_path() -> None:
    """The REST layout belongs to ``api``: the node, storage, domain and transports get a
    provider's URI from a function the composition root passes in (``api.schemas.files``)."""
    checked = 0
    for layer in ("node", "storage", "model", "transport", "ring"):
        for path in sorted((SRC / layer).rglob("*.py")):
            if "generated" in path.parts:
                continue
            checked += 1
            bad = [s for s in code_strings(path) if "/api/" in s]
            assert not bad, f"{path.relative_to(SRC)} spells a REST path: {bad}"
    assert checked > 50
