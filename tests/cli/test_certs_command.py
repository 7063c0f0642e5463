"""``chordshare certs init/issue``: a CA and node certificates, keys 0600, no silent overwrite."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

from cryptography import x509
from typer.testing import CliRunner

from chordshare.cli.main import app

runner = CliRunner()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_init_writes_a_self_signed_ca_with_a_private_key(tmp_path: Path) -> None:
    ca = tmp_path / "ca"
    result = runner.invoke(app, ["certs", "init", "--dir", str(ca)])
    assert result.exit_code == 0, result.output
    cert = load(ca / "ca.pem")
    assert mode(ca / "ca-key.pem") == 0o600
    assert cert.issuer == cert.subject
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    cert.verify_directly_issued_by(cert)


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    ca = tmp_path / "ca"
    assert runner.invoke(app, ["certs", "init", "--dir", str(ca)]).exit_code == 0
    before = (ca / "ca-key.pem").read_bytes()
    result = runner.invoke(app, ["certs", "init", "--dir", str(ca)])
    assert result.exit_code == 2
    assert "already exists" in result.output
    assert "--force" in result.output
    assert (ca / "ca-key.pem").read_bytes() == before
    assert runner.invoke(app, ["certs", "init", "--dir", str(ca), "--force"]).exit_code == 0
    assert (ca / "ca-key.pem").read_bytes() != before


def test_issue_names_the_host_and_the_full_address_and_is_signed_by_the_ca(
    tmp_path: Path,
) -> None:
    ca, out = tmp_path / "ca", tmp_path / "n1"
    assert runner.invoke(app, ["certs", "init", "--dir", str(ca)]).exit_code == 0
    args = ["certs", "issue", "--ca-dir", str(ca), "--address", "127.0.0.1:7001"]
    result = runner.invoke(app, [*args, "--out", str(out), "--name", "n1"])
    assert result.exit_code == 0, result.output
    cert = load(out / "n1.pem")
    assert mode(out / "n1-key.pem") == 0o600
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [
        "chordshare://127.0.0.1:7001"
    ]
    cert.verify_directly_issued_by(load(ca / "ca.pem"))
    again = runner.invoke(app, [*args, "--out", str(out), "--name", "n1"])
    assert again.exit_code == 2
    assert "already exists" in again.output


def test_issue_for_a_dns_name_uses_a_dns_san(tmp_path: Path) -> None:
    ca, out = tmp_path / "ca", tmp_path / "n"
    assert runner.invoke(app, ["certs", "init", "--dir", str(ca)]).exit_code == 0
    result = runner.invoke(
        app,
        [
            "certs",
            "issue",
            "--ca-dir",
            str(ca),
            "--address",
            "node-a.local:7000",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    san = load(out / "node.pem").extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.DNSName) == ["node-a.local"]


def test_issue_rejects_a_malformed_address_and_a_missing_ca(tmp_path: Path) -> None:
    out = str(tmp_path / "n")
    missing = runner.invoke(
        app,
        ["certs", "issue", "--ca-dir", str(tmp_path / "nope"), "--address", "h:1", "--out", out],
    )
    assert missing.exit_code == 2
    assert "cannot read the CA" in missing.output
    assert runner.invoke(app, ["certs", "init", "--dir", str(tmp_path / "ca")]).exit_code == 0
    bad = runner.invoke(
        app,
        ["certs", "issue", "--ca-dir", str(tmp_path / "ca"), "--address", "noport", "--out", out],
    )
    assert bad.exit_code == 2
    assert "not a host:port" in bad.output
