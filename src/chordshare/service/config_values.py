"""Value types and helpers of a node's settings: byte quotas, REST base URLs, gRPC addresses."""

from __future__ import annotations

import ipaddress
from typing import Literal
from urllib.parse import urlsplit

UNLIMITED: Literal["unlimited"] = "unlimited"
ByteQuota = int | Literal["unlimited"]
"""A bound in bytes (positive, at most MAX_QUOTA), or no bound: a word rather than null, which
TOML cannot say. Checked by ``NodeConfig._quota``."""
MAX_QUOTA = 1 << 60


def quota_bytes(value: ByteQuota) -> int | None:
    """The bound a quota setting gives, None for "unlimited"."""
    return None if value == UNLIMITED else value


def normalize_url(url: str) -> str:
    """Check a REST base URL (http or https, with a host) and drop a trailing slash."""
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    try:
        _ = parts.port
    except ValueError as exc:
        raise ValueError(f"bad port in URL {url!r}") from exc
    return text.rstrip("/")


def host_port(host: str, port: int) -> str:
    """``host:port``, bracketing IPv6 addresses."""
    try:
        is_v6 = ipaddress.ip_address(host).version == 6
    except ValueError:
        is_v6 = False
    return f"[{host}]:{port}" if is_v6 else f"{host}:{port}"
