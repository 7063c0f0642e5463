"""The committed generated code is exactly what the codegen script produces."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

from chordshare.transport.grpc import codegen


def test_regenerating_yields_the_committed_files_byte_for_byte(tmp_path: Path) -> None:
    names = sorted(p.name for p in codegen.generate(tmp_path))
    expected = ["__init__.py"] + [
        p.stem + suffix
        for p in codegen.proto_files()
        for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")
    ]
    assert names == sorted(expected)
    assert {"ring_pb2.py", "ring_pb2_grpc.pyi"} <= set(names)
    _, mismatch, errors = filecmp.cmpfiles(tmp_path, codegen.GENERATED_DIR, names, shallow=False)
    assert (mismatch, errors) == ([], []), "run `make proto` and commit the result"
    assert codegen.differences() == []


def test_protos_importing_each_other_get_package_imports(tmp_path: Path) -> None:
    protos = tmp_path / "protos" / "chordshare"
    protos.mkdir(parents=True)
    (protos / "base.proto").write_text(
        'syntax = "proto3";\npackage t.v1;\nmessage Thing { bytes id = 1; }\n'
    )
    (protos / "more.proto").write_text(
        'syntax = "proto3";\npackage t.v1;\nimport "chordshare/base.proto";\n'
        "message Box { Thing thing = 1; }\n"
        "service Boxes { rpc Get(Box) returns (Box); }\n"
    )
    out = tmp_path / "out"
    out.mkdir()
    codegen.generate(out, tmp_path / "protos")
    package = "chordshare.transport.grpc.generated"
    assert f"from {package} import base_pb2 as" in (out / "more_pb2.py").read_text()
    assert f"from {package} import base_pb2 as" in (out / "more_pb2.pyi").read_text()
    assert f"from {package} import more_pb2 as" in (out / "more_pb2_grpc.py").read_text()


def test_two_protos_with_one_module_name_are_refused(tmp_path: Path) -> None:
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "x.proto").write_text('syntax = "proto3";\n')
    with pytest.raises(codegen.CodegenError, match="x_pb2"):
        codegen.proto_files(tmp_path)


def test_check_mode_reports_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    assert codegen.main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out
