"""The node's REST API token and access policy, as the composition root builds them.

The token is the config's ``api_token`` when it sets one, else the file ``api_token`` in
``data_dir``: created at first start (``secrets.token_urlsafe(32)``, mode 0600, written to a
private temporary file and linked into place, so no reader ever sees a half-written token and a
concurrent creator never overwrites it), read on every later start. A token file that is a
symlink, not a regular file, empty, or readable by group or others is refused with a
:class:`ConfigError`: it would be someone else's token, or everyone's.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from chordshare.api.auth import AuthPolicy
from chordshare.errors import ConfigError
from chordshare.service.config import NodeConfig, host_port
from chordshare.service.config_rest import TOKEN_FILE


def token_path(config: NodeConfig) -> Path:
    return Path(config.data_dir) / TOKEN_FILE


def read_token_file(path: Path) -> str:
    """The token in ``path``; ConfigError when the file cannot be trusted or read."""
    try:
        info = path.lstat()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the API token: {exc.strerror or exc}") from exc
    if stat.S_ISLNK(info.st_mode):
        raise ConfigError(f"{path}: the API token file is a symlink; refusing to use it")
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{path}: the API token file is not a regular file")
    if info.st_mode & 0o077:
        raise ConfigError(
            f"{path}: the API token file is readable by others (mode "
            f"{stat.S_IMODE(info.st_mode):04o}); run `chmod 600 {path}` or delete it to get a "
            "new token"
        )
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, encoding="ascii") as handle:
            token = handle.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the API token: {exc}") from exc
    if not token:
        raise ConfigError(f"{path}: the API token file is empty; delete it to get a new token")
    return token


def create_token_file(path: Path) -> str:
    """A new token written to ``path`` (which must not exist) with mode 0600; if another
    process creates it first, its token."""
    token = secrets.token_urlsafe(32)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(temporary, flags, 0o600)
        try:
            os.write(fd, (token + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temporary, path)  # never replaces an existing file, unlike rename
        except FileExistsError:
            return read_token_file(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot create the API token: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()
    return token


def resolve_token(config: NodeConfig) -> tuple[str, Path | None]:
    """The token and the file it came from (``None`` when the config set it)."""
    if config.api_token:
        return config.api_token, None
    path = token_path(config)
    if os.path.lexists(path):
        return read_token_file(path), path
    Path(config.data_dir).mkdir(parents=True, exist_ok=True)
    return create_token_file(path), path


def own_origins(config: NodeConfig, http_url: str, port: int) -> frozenset[str]:
    """The origins a page served by this node itself would send: its advertised URL and the
    listen and advertise host variants, over HTTP and HTTPS."""
    hosts = {config.listen_host, config.advertise_host}
    origins = {http_url.rstrip("/").lower()}
    for host in hosts:
        for scheme in ("http", "https"):
            origins.add(f"{scheme}://{host_port(host, port)}".lower())
    return frozenset(origins)


def access_policy(config: NodeConfig, token: str, http_url: str, port: int) -> AuthPolicy:
    return AuthPolicy(
        token=token,
        closed_reads=config.closed_reads,
        own_origins=own_origins(config, http_url, port),
        allowed_origins=tuple(config.allowed_origins),
    )
