"""Mutual TLS between nodes: the caller's certified address, and claims checked against it.

With peer TLS on, every gRPC connection is mutually authenticated against the cluster CA, so a
handler can trust the certificate the caller presented. Each node certificate names the node's
advertised gRPC address in a URI SAN (``chordshare://host:port``; see
:mod:`chordshare.service.certs`): on one host many nodes share an IP, so the IP SAN alone would
not tell them apart.

:func:`caller_identity` reads that address from a servicer context. :class:`CallerClaimInterceptor`
refuses (PERMISSION_DENIED) the two requests whose peer is by definition the caller itself, a
Rectify's ``candidate`` and a LeaveNotice's ``leaving``, when they name another address.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc

if TYPE_CHECKING:
    from cryptography import x509

from chordshare.errors import ConfigError

URI_SCHEME = "chordshare://"
"""Prefix of the URI SAN that carries a node's ``host:port`` gRPC address."""

PEM_CERT_KEY = "x509_pem_cert"
"""The ``auth_context()`` key under which gRPC hands over the peer's certificate (PEM)."""

CLAIMED_PEER_FIELDS = {
    "/chordshare.ring.v1.Ring/Rectify": "candidate",
    "/chordshare.ring.v1.Ring/LeaveNotice": "leaving",
}
"""Method -> request field naming a peer that must be the caller itself."""


@dataclass(frozen=True, slots=True)
class PeerTls:
    """A node's TLS material (PEM bytes): the cluster CA, its own certificate and key."""

    ca: bytes
    cert: bytes
    key: bytes

    def server_credentials(self) -> Any:
        """Serve with this node's certificate; accept only clients with one from the CA."""
        return grpc.ssl_server_credentials(
            [(self.key, self.cert)], root_certificates=self.ca, require_client_auth=True
        )

    def channel_credentials(self) -> Any:
        """Call peers presenting this node's certificate; trust only servers from the CA."""
        return grpc.ssl_channel_credentials(self.ca, self.key, self.cert)


ENV_FILES = ("CHORDSHARE_PEER_TLS_CA", "CHORDSHARE_PEER_TLS_CERT", "CHORDSHARE_PEER_TLS_KEY")
"""The variables naming the CA, certificate and key files: a node's config reads them (its
``peer_tls_*`` settings), and so does a command-line client that talks gRPC to TLS nodes."""


def tls_from_environment(environ: Mapping[str, str] = os.environ) -> PeerTls | None:
    """The TLS material named by :data:`ENV_FILES`, None when none is set; ConfigError when
    only some are, or a file cannot be read."""
    paths = [environ.get(name, "") for name in ENV_FILES]
    if not any(paths):
        return None
    if not all(paths):
        raise ConfigError(f"TLS to the nodes needs all of {', '.join(ENV_FILES)}")
    try:
        ca, cert, key = (Path(p).expanduser().read_bytes() for p in paths)
    except OSError as exc:
        raise ConfigError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    return PeerTls(ca, cert, key)


def certificate_address(cert: x509.Certificate) -> str | None:
    """The ``host:port`` in ``cert``'s ``chordshare://`` URI SAN, or None if it has none."""
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for uri in san.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.startswith(URI_SCHEME):
            return uri[len(URI_SCHEME) :]
    return None


def caller_identity(context: Any) -> str | None:
    """The gRPC address certified for the caller of the RPC behind servicer ``context``.

    None on a plaintext server, or when the caller's certificate carries no ``chordshare://``
    URI SAN (such a caller cannot have passed a TLS server's client authentication anyway,
    unless its CA issued it without one).
    """
    try:
        auth = context.auth_context()
    except Exception:  # a context without a transport (tests' fakes) has no identity
        return None
    pems = auth.get(PEM_CERT_KEY) if auth else None
    if not pems:
        return None
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(bytes(pems[0]))
    except ValueError:
        return None
    return certificate_address(cert)


def _claimed_address(request: Any, field: str) -> str | None:
    """The ``grpc_address`` of ``request.<field>``, or None if the request has none to check
    (e.g. a malformed request, which its own guard answers)."""
    peer = getattr(request, field, None)
    address = getattr(peer, "grpc_address", None)
    return address if isinstance(address, str) else None


def _guarded(handler: Any, field: str) -> Any:
    """``handler`` (unary-unary) refusing requests whose ``field`` is not the caller."""
    behavior = handler.unary_unary

    async def call(request: Any, context: Any) -> Any:
        claimed = _claimed_address(request, field)
        if claimed is not None:
            caller = caller_identity(context)
            if caller != claimed:
                await context.abort(
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"{field} must be the caller itself ({caller or 'no certified address'}),"
                    f" not {claimed}",
                )
        return await behavior(request, context)

    return grpc.unary_unary_rpc_method_handler(
        call,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class CallerClaimInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # grpc is untyped
    """Checks the requests of :data:`CLAIMED_PEER_FIELDS` against :func:`caller_identity`.

    Installed only on a TLS server: without certificates there is nothing to check against.
    """

    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], details: Any
    ) -> Any:
        handler = await continuation(details)
        field = CLAIMED_PEER_FIELDS.get(details.method)
        if handler is None or field is None or handler.unary_unary is None:
            return handler
        return _guarded(handler, field)
