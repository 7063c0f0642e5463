"""Who may take an upload out of the network again: the holder of its removal secret.

The node that accepts an upload (through its REST API, with its API token) draws a random
secret for it and gives the holders only its *removal key*, the SHA-256 of the secret. A holder
keeps the keys of every upload its copy belongs to (an upload's k holders, and every copy the
byte repair makes later, carry them) and drops its copy when asked with a secret whose key it
keeps; knowing a key does not give the secret, so listing the keys tells nobody anything.

Two uploads of the same content under the same name are two uploads: each has its own key, and
the copy goes only once no key is left (removing one person's upload never removes another's).
A copy that carries no key (shared from a node's shared directory, or cached for a reader) is
never removed by anyone but its own node.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from chordshare.errors import InvalidInput

SECRET_BYTES = 32
"""A removal secret: 256 random bits, guessed by nobody."""

KEY_BYTES = 32
"""A removal key: the SHA-256 of a secret."""

MAX_KEYS_PER_COPY = 16
"""Removal keys one copy keeps at most (an upload carries one; a content uploaded again under
the same name adds one each time): an uploader cannot make a holder keep an unbounded list."""


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def removal_key(secret: bytes) -> bytes:
    """The key a holder keeps for ``secret``."""
    return hashlib.sha256(check_secret(secret)).digest()


def check_secret(secret: bytes) -> bytes:
    if len(secret) != SECRET_BYTES:
        raise InvalidInput(f"a removal secret is {SECRET_BYTES} bytes, not {len(secret)}")
    return secret


def check_keys(keys: tuple[bytes, ...]) -> tuple[bytes, ...]:
    """``keys`` if each is a removal key and there are not too many; InvalidInput otherwise."""
    if len(keys) > MAX_KEYS_PER_COPY:
        raise InvalidInput(f"{len(keys)} removal keys, at most {MAX_KEYS_PER_COPY} allowed")
    for key in keys:
        if len(key) != KEY_BYTES:
            raise InvalidInput(f"a removal key is {KEY_BYTES} bytes, not {len(key)}")
    return tuple(dict.fromkeys(keys))


def matching(secret: bytes, keys: tuple[bytes, ...]) -> bytes | None:
    """The key of ``keys`` that ``secret`` opens, compared in constant time, or None."""
    wanted = removal_key(secret)
    found = None
    for key in keys:
        if hmac.compare_digest(key, wanted):
            found = key
    return found


def parse_secret(text: str) -> bytes:
    """A secret written as hex (as ``put`` prints it); InvalidInput otherwise."""
    try:
        secret = bytes.fromhex(text.strip())
    except ValueError as exc:
        raise InvalidInput("a removal secret is written as hexadecimal digits") from exc
    return check_secret(secret)
