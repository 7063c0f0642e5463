"""Regenerate the committed protobuf/gRPC modules from the ``.proto`` contract.

``python -m chordshare.transport.grpc.codegen`` (``make proto``) compiles every ``*.proto`` under
``protos/`` with ``grpc_tools.protoc`` and the mypy-protobuf plugins into ``generated/``:

* ``<name>_pb2.py`` / ``<name>_pb2.pyi``: messages and their typed stubs;
* ``<name>_pb2_grpc.py`` / ``<name>_pb2_grpc.pyi``: service stubs, servicers and their typed
  (``grpc.aio`` only) stubs.

Protos live at ``protos/chordshare/<name>.proto`` so that their descriptor-pool path
(``chordshare/<name>.proto``) cannot collide with another library's ``ring.proto``; protos may
import each other as ``import "chordshare/<name>.proto";``. The generated modules are flattened
into the ``generated`` package and their cross-imports (``from chordshare import ring_pb2``) are
rewritten to ``from chordshare.transport.grpc.generated import ring_pb2``, so the package imports
without touching ``sys.path``. ``--check`` compares instead of writing (for CI); a test does the
same.
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from chordshare.errors import CodegenError

HERE = Path(__file__).resolve().parent
PROTO_ROOT = HERE / "protos"
GENERATED_DIR = HERE / "generated"
GENERATED_PACKAGE = "chordshare.transport.grpc.generated"

MYPY_GRPC_OPTIONS = "only_async,quiet"
"""Stubs for ``grpc.aio`` only (chordshare never uses the sync API); ``quiet`` keeps protoc from
printing a line per file."""

INIT_TEXT = '''"""Generated protobuf and gRPC modules; do not edit. Regenerate with ``make proto``
(``python -m chordshare.transport.grpc.codegen``) from ``../protos``."""
'''

GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


def proto_files(root: Path = PROTO_ROOT) -> list[Path]:
    """Every ``.proto`` under ``root``, relative to it, in a stable order."""
    found = sorted(p.relative_to(root) for p in root.rglob("*.proto"))
    stems: dict[str, Path] = {}
    for rel in found:
        if rel.stem in stems:
            raise CodegenError(
                f"{rel} and {stems[rel.stem]} would both generate {rel.stem}_pb2 "
                "in the flat generated package; rename one"
            )
        stems[rel.stem] = rel
    return found


def _plugin(name: str) -> str:
    """Path of a protoc plugin installed next to this interpreter (the venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise CodegenError(f"{name} not found; install the dev extras (mypy-protobuf)")
    return found


def _run_protoc(root: Path, protos: Sequence[Path], out: Path) -> None:
    from grpc_tools import protoc  # type: ignore[import-untyped]  # dev-only tool, untyped

    well_known = resources.files("grpc_tools") / "_proto"
    args = [
        "grpc_tools.protoc",
        f"--proto_path={root}",
        f"--proto_path={well_known}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out=quiet:{out}",
        f"--mypy_grpc_out={MYPY_GRPC_OPTIONS}:{out}",
        f"--plugin=protoc-gen-mypy={_plugin('protoc-gen-mypy')}",
        f"--plugin=protoc-gen-mypy_grpc={_plugin('protoc-gen-mypy_grpc')}",
        *(p.as_posix() for p in protos),
    ]
    status = protoc.main(args)
    if status != 0:
        raise CodegenError(f"protoc failed with status {status} (see its messages above)")


def fix_imports(text: str, protos: Sequence[Path]) -> str:
    """Point imports of sibling generated modules at the flat ``generated`` package."""
    for rel in protos:
        parent = ".".join(rel.parent.parts)
        for suffix in ("_pb2", "_pb2_grpc"):
            module = rel.stem + suffix
            if parent:
                pattern = rf"^(\s*)from {re.escape(parent)} import {module}\b"
            else:
                pattern = rf"^(\s*)import {module}\b"
            text = re.sub(pattern, rf"\1from {GENERATED_PACKAGE} import {module}", text, flags=re.M)
    for rel in protos:
        module = re.escape(".".join((*rel.parent.parts, rel.stem)))
        if re.search(rf"^\s*(from|import) {module}_pb2", text, flags=re.M):
            raise CodegenError(f"an import of {rel} was left unrewritten")
    return text


def generate(out_dir: Path, root: Path = PROTO_ROOT) -> list[Path]:
    """Compile every proto under ``root`` into ``out_dir`` (flat, imports fixed, plus an
    ``__init__.py``); returns the written files, sorted. ``out_dir`` must exist."""
    protos = proto_files(root)
    if not protos:
        raise CodegenError(f"no .proto files under {root}")
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="chordshare-protoc-") as tmp:
        _run_protoc(root, protos, Path(tmp))
        for rel in protos:
            for suffix in GENERATED_SUFFIXES:
                source = Path(tmp) / rel.parent / (rel.stem + suffix)
                if not source.exists():
                    raise CodegenError(f"protoc did not produce {source.name}")
                target = out_dir / source.name
                target.write_text(fix_imports(source.read_text("utf-8"), protos), "utf-8")
                written.append(target)
    init = out_dir / "__init__.py"
    init.write_text(INIT_TEXT, "utf-8")
    written.append(init)
    return sorted(written)


def _is_generated(path: Path) -> bool:
    return path.is_file() and (path.name == "__init__.py" or path.name.endswith(GENERATED_SUFFIXES))


def differences(target: Path = GENERATED_DIR, root: Path = PROTO_ROOT) -> list[str]:
    """Names of files in ``target`` that are missing, stale or extra compared with a fresh
    generation (empty when the committed code is up to date)."""
    with tempfile.TemporaryDirectory(prefix="chordshare-codegen-") as tmp:
        fresh = {p.name for p in generate(Path(tmp), root)}
        have = {p.name for p in target.iterdir() if _is_generated(p)} if target.is_dir() else set()
        _, mismatch, errors = filecmp.cmpfiles(Path(tmp), target, sorted(fresh & have), False)
        return sorted({*mismatch, *errors, *(fresh ^ have)})


def regenerate(target: Path = GENERATED_DIR, root: Path = PROTO_ROOT) -> list[Path]:
    """Rewrite ``target`` with fresh code, removing generated files whose proto is gone."""
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chordshare-codegen-") as tmp:
        fresh = generate(Path(tmp), root)
        for old in target.iterdir():
            if _is_generated(old) and not (Path(tmp) / old.name).exists():
                old.unlink()
        for path in fresh:
            shutil.copyfile(path, target / path.name)
    return [target / p.name for p in fresh]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the protobuf/gRPC modules.")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the committed code is out of date"
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = differences()
            if stale:
                print("generated code is out of date: " + ", ".join(stale), file=sys.stderr)
                print("run `make proto` and commit the result", file=sys.stderr)
                return 1
            print("generated code is up to date")
            return 0
        for path in regenerate():
            print(f"wrote {path.relative_to(HERE)}")
    except CodegenError as exc:
        print(f"codegen: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
