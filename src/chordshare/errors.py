"""The project's one exception tree.

Every error chordshare raises on purpose derives from :class:`ChordshareError`. Adapters
(gRPC, REST, SQLite, the filesystem) translate foreign exceptions into this tree once, at the
edge, with ``raise ... from exc``; the node algorithms only ever see these types.

    ChordshareError
    ├── ConfigError                 bad or missing configuration (exit status 2)
    ├── InvalidInput                a request that can never succeed (bad key, bad name) -> 400
    │   └── InvalidName             a file name that is not a safe display name
    ├── NotFound                    a record or file that does not exist -> 404
    ├── PeerError                   talking to another node failed
    │   ├── PeerUnavailable         the peer is down or unreachable (connection refused, crashed)
    │   ├── PeerTimeout             the peer did not answer before the deadline
    │   └── PeerProtocolError       the peer answered something that breaks the protocol
    ├── LookupFailed                a lookup could not reach the key's owner
    ├── JoinFailed                  no seed could be reached or agreed to let us in
    ├── TransferError               a file transfer could not complete
    │   ├── IntegrityError          bytes that do not match their declared hash or size
    │   └── LimitExceeded           a transfer bound was hit (streams per peer, file size)
    ├── StorageError                the local record store or shared directory failed
    ├── NodeFailed                  a node process this program started exited or never got ready
    ├── PlotUnavailable             ``--plot`` without matplotlib (the ``plot`` extra)
    └── CodegenError                regenerating the gRPC stubs failed (a developer tool)
"""

from __future__ import annotations


class ChordshareError(Exception):
    """Base class of every error chordshare raises on purpose."""


class ConfigError(ChordshareError):
    """Configuration is missing or invalid; the message names the source, field and reason."""


class InvalidInput(ChordshareError):
    """A request that can never succeed as given."""


class InvalidName(InvalidInput):
    """A file name that is not a safe display name (separators, '..', NUL, too long...)."""


class NotFound(ChordshareError):
    """The thing asked for does not exist."""


class NotPermitted(ChordshareError):
    """A request refused because the caller did not prove its right to make it (a removal
    whose secret does not match any upload of that file)."""


class Conflict(ChordshareError):
    """A request that names more than one thing where it must name one (a name with several
    uploads of this node and no content hash to choose)."""


class PeerError(ChordshareError):
    """Talking to another node failed."""


class PeerUnavailable(PeerError):
    """The peer is down or unreachable."""


class PeerTimeout(PeerError):
    """The peer did not answer before the deadline."""


class PeerProtocolError(PeerError):
    """The peer answered something that breaks the protocol."""


class LookupFailed(ChordshareError):
    """A lookup could not reach the owner of its key."""


class JoinFailed(ChordshareError):
    """No seed could be reached, or none let us join."""


class TransferError(ChordshareError):
    """A file transfer could not complete."""


class IntegrityError(TransferError):
    """Bytes that do not match their declared hash or size."""


class LimitExceeded(TransferError):
    """A transfer bound was hit: too many concurrent streams from one peer (retry later or
    elsewhere), or a file larger than the receiver accepts."""


class StorageError(ChordshareError):
    """The local record store or shared directory failed."""


class NodeFailed(ChordshareError):
    """A node process started by the launcher (demo, tests, benchmarks) exited or did not become
    ready; the message carries its log tail."""


class PlotUnavailable(ChordshareError):
    """matplotlib is not installed; the message names the extra that installs it."""


class CodegenError(ChordshareError):
    """protoc failed, a plugin is missing, or the generated code cannot be made importable."""
