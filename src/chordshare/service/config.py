"""A node's configuration: the one settings model (DESIGN.md principle 10).

Every field is declared once, here, with its default, its valid range and its reason (the field
docstrings are the documentation: ``chordshare node --help`` shows them). Values come from, in
increasing precedence:

1. the config file, JSON or TOML chosen by its extension (``.json``, ``.toml``);
2. environment variables ``CHORDSHARE_<FIELD>`` (e.g. ``CHORDSHARE_GRPC_PORT=50052``;
   ``CHORDSHARE_SEEDS`` takes a JSON list or comma-separated URLs);
3. command-line flags (``--grpc-port 50052``), passed to :func:`load_config` as overrides.

Relative paths in the file resolve against the file's directory (so a config directory can be
moved as a whole); relative paths from the environment or flags resolve against the working
directory. Any bad input raises :class:`chordshare.errors.ConfigError` whose message is one line
naming where the value came from (the file, the variable or the flag), the field and the reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from chordshare.model.limits import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_STREAMS_PER_PEER,
    DEFAULT_PROVIDER_TTL,
    DEFAULT_REPLICAS,
    MAX_MESSAGE_BYTES,
)
from chordshare.model.manifest import (
    DEFAULT_PIECE_SIZE,
    MAX_PIECE_SIZE,
    MIN_PIECE_SIZE,
    piece_count,
)
from chordshare.model.records import MAX_PIECES_PER_RECORD
from chordshare.node.ring.settings import RingSettings
from chordshare.ring.ids import DEFAULT_BITS, MAX_BITS
from chordshare.service.config_peer_tls import PeerTlsSettings
from chordshare.service.config_rest import RestSettings
from chordshare.service.config_sources import CONFIG_FILE as CONFIG_FILE
from chordshare.service.config_sources import file_source
from chordshare.service.config_values import MAX_QUOTA as MAX_QUOTA
from chordshare.service.config_values import UNLIMITED as UNLIMITED
from chordshare.service.config_values import ByteQuota as ByteQuota
from chordshare.service.config_values import host_port as host_port
from chordshare.service.config_values import normalize_url as normalize_url
from chordshare.service.config_values import quota_bytes as quota_bytes
from chordshare.storage.files.stale import DEFAULT_STALE_PART_AGE

ENV_PREFIX = "CHORDSHARE_"
KIB = 1024
MIB = 1024 * KIB
UNSPECIFIED_HOSTS = frozenset({"0.0.0.0", "::", ""})
"""Listen addresses meaning "every interface": they can be bound but never advertised."""

_RING = RingSettings()
"""Defaults of the ring algorithms, reused rather than restated."""

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class NodeConfig(BaseSettings, RestSettings, PeerTlsSettings):
    """Everything a node reads at start. Build it with :func:`load_config`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        validate_default=True,
    )

    # -- network -------------------------------------------------------------------------------

    listen_host: str = "0.0.0.0"
    """Address both servers bind to. 0.0.0.0 (every interface) suits containers and hosts with
    several interfaces; the address other nodes dial is advertise_host."""

    advertise_host: str = ""
    """Address other nodes reach this one at; the node id is the hash of advertise_host:grpc_port.
    Empty: 127.0.0.1 when listen_host is unspecified (0.0.0.0 or ::), else listen_host. Set it to
    the public or container-host address when nodes run on several machines."""

    grpc_port: int = Field(default=50051, ge=0, le=65535)
    """Port of the node-to-node gRPC server; 0 picks a free one."""

    http_port: int = Field(default=8000, ge=0, le=65535)
    """Port of the REST API (people, the CLI and seed discovery); 0 picks a free one."""

    seeds: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """REST base URLs of nodes already in the ring (e.g. http://10.0.0.5:8000), tried in order
    with retries; empty starts a new ring. A node may list itself: it is skipped."""

    # -- directories ---------------------------------------------------------------------------

    shared_dir: Path = Path("shared")
    """Directory whose files this node shares. It must exist (a mistyped path would share
    nothing), unless create_shared_dir is set."""

    create_shared_dir: bool = False
    """Create shared_dir (and its parents) when it does not exist, instead of refusing to
    start."""

    data_dir: Path = Path("data")
    """Directory for the node's own state (records, stored files, partial downloads). One node
    per data_dir: a node started on a data_dir in use exits with status 2."""

    # -- the ring ------------------------------------------------------------------------------

    ring_bits: int = Field(default=DEFAULT_BITS, ge=1, le=MAX_BITS)
    """m: ids live in [0, 2^m). 160 is SHA-1's width, as in the paper; every node of a ring must
    use the same value. Smaller values only make sense in tests."""

    successor_list_size: int = Field(default=_RING.successor_list_size, ge=1, le=64)
    """r: successors each node tracks. r >= log2 N keeps the ring connected when half the nodes
    fail at once; 64 bounds the list every stabilize round copies over the wire."""

    stabilize_interval: float = Field(default=_RING.stabilize_interval, gt=0, le=3600)
    """Seconds between stabilize rounds; a crashed successor is replaced within about one."""

    fix_fingers_interval: float = Field(default=_RING.fix_fingers_interval, gt=0, le=3600)
    """Seconds between fix_fingers rounds."""

    fingers_per_round: int = Field(default=_RING.fingers_per_round, ge=1, le=MAX_BITS)
    """Finger lookups per fix_fingers round."""

    check_predecessor_interval: float = Field(
        default=_RING.check_predecessor_interval, gt=0, le=3600
    )
    """Seconds between predecessor pings; a dead predecessor is forgotten within this time."""

    rpc_timeout: float = Field(default=_RING.rpc_timeout, gt=0, le=300)
    """Deadline in seconds of one gRPC call or one REST discovery request."""

    # -- joining -------------------------------------------------------------------------------

    join_attempts: int = Field(default=5, ge=1, le=100)
    """Attempts per seed (discovery over REST, then the gRPC join) before trying the next seed."""

    join_backoff: float = Field(default=0.5, gt=0, le=60)
    """Seconds before the second attempt on a seed; each later wait doubles."""

    join_backoff_max: float = Field(default=8.0, gt=0, le=600)
    """Upper bound of one wait between attempts."""

    shutdown_grace: float = Field(default=2.0, ge=0, le=60)
    """Seconds in-flight requests get to finish when the node stops."""

    log_level: LogLevel = "INFO"
    """DEBUG, INFO, WARNING, ERROR or CRITICAL (case-insensitive)."""

    # -- file sharing --------------------------------------------------------------------------

    piece_size: int = Field(default=DEFAULT_PIECE_SIZE, ge=MIN_PIECE_SIZE, le=MAX_PIECE_SIZE)
    """Bytes per file piece, the unit hashed, verified and fetched in parallel. 1 MiB keeps the
    piece list of a 4 GiB file at 4,096 hashes (128 KiB) while a bad piece costs little to
    refetch (IPFS uses 256 KiB, BitTorrent 256 KiB-4 MiB)."""

    replication_factor: int = Field(default=DEFAULT_REPLICAS, ge=1, le=65)
    """k: DHT records live on the key's owner and its next k-1 successors, so k-1 simultaneous
    crashes lose no record. At most successor_list_size + 1."""

    max_message_bytes: int = Field(default=MAX_MESSAGE_BYTES, ge=256 * KIB, le=256 * MIB)
    """Largest gRPC message sent or accepted (gRPC's own default is 4 MiB). File bytes travel in
    chunks that fit it; a DHT record (its piece hashes) must fit it too."""

    max_file_bytes: int = Field(default=DEFAULT_MAX_FILE_BYTES, ge=1, le=1 << 50)
    """Largest file this node shares or downloads; bounds disk use and the piece list."""

    pinned_quota: ByteQuota = UNLIMITED
    """Bytes of uploads this node keeps as one of their k holders (pinned copies, each content
    counted once), or "unlimited". An upload that does not fit, counting those in flight, is
    refused before any byte is sent, and the uploader stores it on the next successor instead."""

    cache_quota: ByteQuota = UNLIMITED
    """Bytes of files this node downloaded for REST readers (cached copies), or "unlimited".
    Beyond it the least recently read cached files are deleted (never pinned ones, nor one being
    served); a file larger than it is not fetched through this node."""

    max_streams_per_peer: int = Field(default=DEFAULT_MAX_STREAMS_PER_PEER, ge=1, le=64)
    """Concurrent transfer streams per remote peer, in either direction: enough to fill a link,
    few enough that one peer cannot monopolise the node."""

    rescan_interval: float = Field(default=30.0, gt=0, le=86_400)
    """Seconds between rescans of shared_dir for added, changed or removed files."""

    provider_ttl: float = Field(default=DEFAULT_PROVIDER_TTL, gt=0, le=7 * 86_400)
    """Seconds a provider record stays valid without being republished."""

    republish_interval: float = Field(default=600.0, gt=0, le=7 * 86_400)
    """Seconds between republishes of this node's provider records. Less than provider_ttl (by
    default a third: a record survives two lost republishes)."""

    stale_part_age: float = Field(default=DEFAULT_STALE_PART_AGE, ge=60, le=365 * 86_400)
    """Seconds a partial download or upload spool may sit untouched in data_dir before it is
    deleted (at start, and by a sweep every quarter of this age, at most an hour apart). A day
    lets an interrupted download resume after a restart or an outage, yet one nobody asks for
    again stops holding its disk. Transfers in progress are never deleted."""

    leave_handoff_timeout: float = Field(default=120.0, gt=0, le=86_400)
    """Seconds a graceful leave may spend copying the bytes this node pins to the nodes that
    take its place (so that every upload keeps k holders without it) before the node exits
    anyway; a cut-short hand-off is logged, and the key owners' repair copies the rest from the
    remaining holders."""

    # -- validation ----------------------------------------------------------------------------

    @field_validator("seeds", mode="before")
    @classmethod
    def _split_seeds(cls, value: Any) -> Any:
        """Environment and flags give strings: a JSON list or comma-separated URLs."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            value = [text]
        if isinstance(value, list | tuple):
            return [
                part.strip()
                for item in value
                for part in (item.split(",") if isinstance(item, str) else [item])
                if not isinstance(part, str) or part.strip()
            ]
        return value

    @field_validator("seeds")
    @classmethod
    def _check_seeds(cls, value: list[str]) -> list[str]:
        return [normalize_url(url) for url in value]

    @field_validator("shared_dir", "data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return Path.cwd() / value.expanduser() if not value.expanduser().is_absolute() else value

    @field_validator("pinned_quota", "cache_quota", mode="plain")
    @classmethod
    def _quota(cls, value: Any) -> ByteQuota:
        """A positive number of bytes, or "unlimited" (one clear message for anything else)."""
        if isinstance(value, str) and value.strip().lower() == UNLIMITED:
            return UNLIMITED
        text = value.strip() if isinstance(value, str) else value
        if isinstance(text, str) and text.isdigit():
            text = int(text)
        if isinstance(text, int) and not isinstance(text, bool) and 1 <= text <= MAX_QUOTA:
            return text
        raise ValueError(f'must be a positive number of bytes (at most 2^60) or "{UNLIMITED}"')

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("listen_host", "advertise_host")
    @classmethod
    def _host(cls, value: str) -> str:
        value = value.strip()
        if value.startswith("[") and value.endswith("]"):
            value = value[1:-1]
        if any(c in value for c in "/ @?#") or value.count(":") == 1:
            raise ValueError(f"not a host name or IP address: {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> NodeConfig:
        if not self.advertise_host:
            derived = "127.0.0.1" if self.listen_host in UNSPECIFIED_HOSTS else self.listen_host
            object.__setattr__(self, "advertise_host", derived)
        elif self.advertise_host in UNSPECIFIED_HOSTS:
            raise ValueError(
                f"advertise_host {self.advertise_host!r} is the unspecified address; "
                "other nodes cannot dial it"
            )
        if self.join_backoff_max < self.join_backoff:
            raise ValueError("join_backoff_max must be at least join_backoff")
        if self.replication_factor > self.successor_list_size + 1:
            raise ValueError(
                f"replication_factor {self.replication_factor} exceeds successor_list_size + 1 "
                f"({self.successor_list_size + 1}): replicas live on the successor list"
            )
        if piece_count(self.max_file_bytes, self.piece_size) > MAX_PIECES_PER_RECORD:
            raise ValueError(
                f"max_file_bytes {self.max_file_bytes} at piece_size {self.piece_size} makes more "
                f"than {MAX_PIECES_PER_RECORD} pieces, more than one DHT record can list"
            )
        if self.republish_interval >= self.provider_ttl:
            raise ValueError("republish_interval must be less than provider_ttl")
        return self

    # -- derived values ------------------------------------------------------------------------

    def ring_settings(self) -> RingSettings:
        """The parameters of the ring algorithms."""
        return RingSettings(
            successor_list_size=self.successor_list_size,
            stabilize_interval=self.stabilize_interval,
            fix_fingers_interval=self.fix_fingers_interval,
            fingers_per_round=self.fingers_per_round,
            check_predecessor_interval=self.check_predecessor_interval,
            rpc_timeout=self.rpc_timeout,
            owner_cache=True,  # a node keeps confirmed arcs; the simulator measures routing
        )

    # -- sources -------------------------------------------------------------------------------

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags (init arguments) > environment > config file. No .env or secrets files: every
        value a node uses comes from a place its operator named."""
        path = CONFIG_FILE.get()
        if path is None:
            return init_settings, env_settings
        return init_settings, env_settings, file_source(settings_cls, path)
