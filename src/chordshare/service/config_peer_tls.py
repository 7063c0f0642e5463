"""The node-to-node TLS switch: a cluster CA, this node's certificate and its key.

A mixin of :class:`chordshare.service.config.NodeConfig` (same ``CHORDSHARE_`` environment
prefix). All three set: every gRPC connection between nodes is mutually authenticated against
the CA (see :mod:`chordshare.transport.grpc.tls`); none set: plaintext gRPC. The certificate
must name the node's advertised gRPC address, which is checked once the port is bound
(:func:`chordshare.service.certs.load_peer_tls`). Make the files with ``chordshare certs``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, model_validator

PEER_TLS_FIELDS = ("peer_tls_ca", "peer_tls_cert", "peer_tls_key")


class PeerTlsSettings(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    # -- TLS between nodes ----------------------------------------------------------------------

    peer_tls_ca: str = ""
    """Path of the cluster CA certificate (PEM, `chordshare certs init`): node-to-node gRPC is
    mutual TLS, only peers with a certificate from this CA get in. Needs peer_tls_cert and
    peer_tls_key; all three empty: plaintext gRPC."""

    peer_tls_cert: str = ""
    """Path of this node's certificate (PEM, `chordshare certs issue`), naming its advertised
    gRPC address (advertise_host:grpc_port)."""

    peer_tls_key: str = ""
    """Path of the private key of peer_tls_cert (PEM)."""

    @model_validator(mode="after")
    def _peer_tls_files(self) -> Self:
        given = [name for name in PEER_TLS_FIELDS if getattr(self, name)]
        if given and len(given) < len(PEER_TLS_FIELDS):
            missing = [name for name in PEER_TLS_FIELDS if name not in given]
            raise ValueError(
                f"{', '.join(given)} set but {', '.join(missing)} not: TLS between nodes needs "
                "all three of peer_tls_ca, peer_tls_cert and peer_tls_key, plaintext none"
            )
        for name in given:
            path = Path(getattr(self, name)).expanduser()
            try:
                path.read_bytes()
            except OSError as exc:
                raise ValueError(f"{name} {str(path)!r}: {exc.strerror or exc}") from exc
        return self

    @property
    def peer_tls(self) -> bool:
        """Whether node-to-node gRPC runs mutual TLS."""
        return bool(self.peer_tls_ca)

    def peer_tls_paths(self) -> tuple[Path, Path, Path]:
        """CA, certificate and key paths (when :attr:`peer_tls` is set)."""
        return (
            Path(self.peer_tls_ca).expanduser(),
            Path(self.peer_tls_cert).expanduser(),
            Path(self.peer_tls_key).expanduser(),
        )
