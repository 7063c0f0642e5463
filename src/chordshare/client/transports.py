"""The httpx transport a client gets when its caller gives none: connection attempts retried,
and for a plain ``http://`` node no TLS set-up.

httpx builds a transport's TLS context when the transport is made, loading certifi's CA bundle
(tens of milliseconds, more than a CLI command's request) even when only plain HTTP is ever
spoken. A client of an ``http://`` base URL only talks to that origin (its paths are relative
and redirects are not followed), so its transport gets an empty client context instead: cheap to
make, and since it trusts no CA and still requires a valid certificate, a TLS connection it were
ever asked for would fail rather than go unverified. ``https://`` nodes keep httpx's default.
"""

from __future__ import annotations

import ssl

import httpx


def _verify(base_url: str) -> ssl.SSLContext | bool:
    if base_url.startswith("http://"):
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, and trusts nothing
    return True


def sync_transport(base_url: str, retries: int) -> httpx.HTTPTransport:
    """The transport of a blocking client of ``base_url`` (normalized)."""
    return httpx.HTTPTransport(retries=retries, verify=_verify(base_url))


def async_transport(base_url: str, retries: int) -> httpx.AsyncHTTPTransport:
    """The transport of an asyncio client of ``base_url`` (normalized)."""
    return httpx.AsyncHTTPTransport(retries=retries, verify=_verify(base_url))
