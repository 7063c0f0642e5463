"""The public surface of ``chordshare`` is deliberate: adding or removing a name is a decision."""

from __future__ import annotations

import chordshare

EXPECTED = {
    "AsyncNodeApi",
    "ChordNode",
    "ChordshareError",
    "Clock",
    "ConfigError",
    "IdSpace",
    "IntegrityError",
    "InvalidInput",
    "InvalidName",
    "JoinFailed",
    "LookupFailed",
    "LookupResult",
    "ManualClock",
    "MemoryCluster",
    "MemoryNetwork",
    "NodeApi",
    "NodeConfig",
    "NotFound",
    "PeerError",
    "PeerProtocolError",
    "PeerRef",
    "PeerTimeout",
    "PeerUnavailable",
    "RingSettings",
    "StorageError",
    "SystemClock",
    "TransferError",
    "__version__",
}


def test_exported_members() -> None:
    assert set(chordshare.__all__) == EXPECTED
    for name in chordshare.__all__:
        assert getattr(chordshare, name) is not None


def test_every_error_derives_from_the_base() -> None:
    for name in chordshare.__all__:
        member = getattr(chordshare, name)
        if isinstance(member, type) and issubclass(member, Exception):
            assert issubclass(member, chordshare.ChordshareError)
