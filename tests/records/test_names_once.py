"""A name is validated once per call path: where it enters. Later checks of the same name (the
node insisting on a valid name, the record rules, the store) see a ``DisplayName`` and cost an
``isinstance``, not a second validation."""

from __future__ import annotations

from collections import Counter

import pytest

from chordshare.errors import InvalidInput, InvalidName
from chordshare.model import names
from chordshare.model.names import DisplayName, name_problem, validate_name
from chordshare.model.records import check_record, record_problem
from chordshare.ring import IdSpace
from chordshare.transport.grpc.generated import records_pb2 as pb
from chordshare.transport.grpc.records.codec import RecordCodec
from tests.records.factory import provider, record

SPACE = IdSpace(160)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many times each name went through the real validation."""
    seen: Counter[str] = Counter()
    real = names._problem

    def counting(name: str) -> str | None:
        seen[str(name)] += 1
        return real(name)

    monkeypatch.setattr(names, "_problem", counting)
    return seen


def test_a_display_name_is_not_validated_again(checks: Counter[str]) -> None:
    name = validate_name("report.pdf")
    assert isinstance(name, DisplayName)
    assert validate_name(name) is name
    assert DisplayName(name) is name
    assert name_problem(name) is None
    assert checks == Counter({"report.pdf": 1})


def test_a_bad_name_never_becomes_a_display_name() -> None:
    for bad in ["", "..", "a/b", "a\\b", "x\x00y", "C:evil", "\u202eexe.txt"]:
        with pytest.raises(InvalidName):
            DisplayName(bad)
        assert name_problem(bad) is not None


def test_a_record_from_the_wire_is_checked_once_from_codec_to_store(checks: Counter[str]) -> None:
    """The server codec validates the names it decodes; the node's ``check_record`` (run on the
    decoded records before they are stored) then does not validate them again."""
    client = RecordCodec(SPACE, InvalidInput)
    server = RecordCodec(SPACE, InvalidInput)
    wire = client.encode_store([record("memo.txt", provider(1, 5.0), pieces=2)], True)
    checks.clear()
    records, _ = server.decode_store(pb.StoreRecordsRequest.FromString(wire.SerializeToString()))
    for rec in records:
        check_record(rec)
        assert record_problem(rec) is None
    assert checks == Counter({"memo.txt": 1})


def test_check_record_validates_a_plain_name_once(checks: Counter[str]) -> None:
    rec = record("plain.txt", provider(1, 5.0))
    checks.clear()
    check_record(rec)
    assert checks == Counter({"plain.txt": 1})
