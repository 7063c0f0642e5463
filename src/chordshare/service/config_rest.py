"""The REST face's settings: who may do what, from where, over what, and for how long.

A mixin of :class:`chordshare.service.config.NodeConfig` (its fields are the node's config
fields, under the same ``CHORDSHARE_`` environment prefix), kept apart so that each file stays
one concept: these are the knobs of the REST API's security and bounds.
"""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import NoDecode

TOKEN_FILE = "api_token"
"""Under ``data_dir``: the node's API token when the config gives none, created at first start
with mode 0600, so that a CLI on the same machine (same user) finds it."""


def split_list(value: Any) -> Any:
    """Environment variables and flags give strings: a JSON list or comma-separated items."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class RestSettings(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    # -- the REST API's security ----------------------------------------------------------------

    api_token: str = Field(default="", repr=False)
    """Bearer token for writes (PUT) and operations (leave) on the REST API, and for reads too
    when closed_reads is set. Empty: the token in data_dir/api_token, created at first start
    (mode 0600) and read by a CLI on the same machine."""

    closed_reads: bool = False
    """Require the token for reads as well (a private network): node info, lookups, the ring,
    search and downloads."""

    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Web origins (scheme://host:port) besides the node's own that may make state-changing
    requests and get CORS headers; empty: CORS closed, cross-site writes refused."""

    tls_certfile: str = ""
    """Path of a PEM certificate chain for serving the REST API over HTTPS (with tls_keyfile);
    empty: plain HTTP."""

    tls_keyfile: str = ""
    """Path of the PEM private key of tls_certfile."""

    http_header_timeout: float = Field(default=10.0, gt=0, le=600)
    """Seconds a client may take to send a request's head; a slower one is disconnected, so
    slow clients cannot hold connections open."""

    http_idle_timeout: float = Field(default=5.0, gt=0, le=600)
    """Seconds an idle keep-alive connection stays open."""

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        return split_list(value)

    @model_validator(mode="after")
    def _tls_pair(self) -> Self:
        if bool(self.tls_certfile) != bool(self.tls_keyfile):
            given, missing = (
                ("tls_certfile", "tls_keyfile")
                if self.tls_certfile
                else ("tls_keyfile", "tls_certfile")
            )
            raise ValueError(
                f"{given} is set but {missing} is not: HTTPS needs both (the PEM certificate "
                "chain and its private key), plain HTTP neither"
            )
        return self
