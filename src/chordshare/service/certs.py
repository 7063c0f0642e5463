"""A cluster CA and the node certificates it signs, for mutual TLS between nodes.

A node certificate names the node's advertised gRPC address twice: its host as an IP or DNS
SAN (what TLS host-name checks look at) and the full ``host:port`` as a ``chordshare://`` URI
SAN (what :func:`chordshare.transport.grpc.tls.caller_identity` reads, since many nodes on one
host share an IP). Keys are EC P-256, written 0600.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from chordshare.errors import ConfigError

if TYPE_CHECKING:
    from chordshare.transport.grpc.tls import PeerTls

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
CA_DAYS = 3650
NODE_DAYS = 825


@dataclass(frozen=True, slots=True)
class NodeFiles:
    """Where a node's certificate and key were written."""

    cert: Path
    key: Path


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` (IPv6 host in brackets) -> (host, port); ConfigError if malformed."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) <= 65535:
        raise ConfigError(f"not a host:port gRPC address: {address!r}")
    return host.removeprefix("[").removesuffix("]"), int(port)


def _write(path: Path, data: bytes, *, private: bool, force: bool) -> None:
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists (pass --force to overwrite it)")
    mode = 0o600 if private else 0o644
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, mode)  # O_CREAT's mode does not apply to a file that existed


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def init_ca(directory: Path, *, name: str = "chordshare cluster CA", force: bool = False) -> Path:
    """Write a new CA key and self-signed certificate into ``directory``; returns the cert."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / CA_CERT, directory / CA_KEY
    if not force:
        for path in (cert_path, key_path):
            if path.exists():
                raise ConfigError(f"{path} already exists (pass --force to overwrite it)")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(key_path, _key_pem(key), private=True, force=True)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), private=False, force=True)
    return cert_path


def _load_ca(ca_dir: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    try:
        cert = x509.load_pem_x509_certificate((ca_dir / CA_CERT).read_bytes())
        key = serialization.load_pem_private_key((ca_dir / CA_KEY).read_bytes(), None)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the CA in {ca_dir}: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ConfigError(f"{ca_dir / CA_KEY} is not an EC key made by `chordshare certs init`")
    return cert, key


def _host_san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def issue_node(
    ca_dir: Path, address: str, out_dir: Path, *, name: str = "node", force: bool = False
) -> NodeFiles:
    """Write ``<name>.pem`` and ``<name>-key.pem`` into ``out_dir``: a certificate for the node
    advertising gRPC ``address``, signed by the CA in ``ca_dir``."""
    # Imported here, as in load_peer_tls: importing gRPC makes it read GRPC_VERBOSITY, which
    # the CLI sets only once it has parsed its flags (chordshare.cli.grpc_logs).
    from chordshare.transport.grpc.tls import URI_SCHEME

    host, port = split_address(address)
    ca_cert, ca_key = _load_ca(ca_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = NodeFiles(out_dir / f"{name}.pem", out_dir / f"{name}-key.pem")
    if not force:
        for path in (files.cert, files.key):
            if path.exists():
                raise ConfigError(f"{path} already exists (pass --force to overwrite it)")
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    canonical = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, canonical)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=NODE_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [_host_san(host), x509.UniformResourceIdentifier(URI_SCHEME + canonical)]
            ),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(files.key, _key_pem(key), private=True, force=True)
    _write(files.cert, cert.public_bytes(serialization.Encoding.PEM), private=False, force=True)
    return files


def load_peer_tls(ca_path: Path, cert_path: Path, key_path: Path, address: str) -> PeerTls:
    """The TLS material of the node advertising gRPC ``address``, checked: PEM that parses, a
    certificate signed by the CA, naming ``address`` in its ``chordshare://`` URI SAN, and a key
    that is the certificate's. ConfigError saying which file is wrong otherwise."""
    from chordshare.transport.grpc.tls import PeerTls, certificate_address

    try:
        ca_pem, cert_pem, key_pem = (p.read_bytes() for p in (ca_path, cert_path, key_path))
    except OSError as exc:
        raise ConfigError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    try:
        ca = x509.load_pem_x509_certificate(ca_pem)
    except ValueError as exc:
        raise ConfigError(f"peer_tls_ca {ca_path}: not a PEM certificate") from exc
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise ConfigError(f"peer_tls_cert {cert_path}: not a PEM certificate") from exc
    try:
        key = serialization.load_pem_private_key(key_pem, None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"peer_tls_key {key_path}: not an unencrypted PEM private key") from exc
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise ConfigError(
            f"peer_tls_cert {cert_path} is not signed by peer_tls_ca {ca_path}"
        ) from exc
    certified = certificate_address(cert)
    if certified != address:
        raise ConfigError(
            f"peer_tls_cert {cert_path} is for {certified or 'no chordshare:// address'}, "
            f"not this node's advertised gRPC address {address}"
        )
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(
        serialization.Encoding.PEM, public
    ) != cert.public_key().public_bytes(serialization.Encoding.PEM, public):
        raise ConfigError(f"peer_tls_key {key_path} is not the key of peer_tls_cert {cert_path}")
    return PeerTls(ca_pem, cert_pem, key_pem)
