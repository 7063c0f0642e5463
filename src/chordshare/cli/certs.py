"""``chordshare certs``: a cluster CA and node certificates for mutual TLS between nodes.

* ``chordshare certs init --dir DIR`` writes the CA (``ca.pem``, ``ca-key.pem``);
* ``chordshare certs issue --ca-dir DIR --address HOST:PORT --out DIR [--name NAME]`` writes a
  node certificate for that advertised gRPC address, signed by the CA.

Keys are written 0600; existing files are kept unless ``--force`` is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chordshare.cli.node import CONFIG_ERROR_STATUS, fail
from chordshare.errors import ConfigError
from chordshare.service import certs

app = typer.Typer(
    name="certs", help="Make a cluster CA and node certificates for TLS between nodes."
)

Force = Annotated[bool, typer.Option("--force", help="Overwrite existing files.")]


@app.command("init")
def init(
    directory: Annotated[Path, typer.Option("--dir", help="Directory the CA is written to.")],
    force: Force = False,
) -> None:
    """Make a new cluster CA: a key and a self-signed certificate."""
    try:
        cert = certs.init_ca(directory, force=force)
    except ConfigError as exc:
        fail(str(exc), CONFIG_ERROR_STATUS)
    typer.echo(f"CA certificate: {cert}")
    typer.echo(f"CA key:         {directory / certs.CA_KEY}")


@app.command("issue")
def issue(
    ca_dir: Annotated[Path, typer.Option("--ca-dir", help="Directory of `certs init`.")],
    address: Annotated[
        str, typer.Option("--address", help="The node's advertised gRPC host:port.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Directory the node's files go to.")],
    name: Annotated[str, typer.Option("--name", help="File name stem.")] = "node",
    force: Force = False,
) -> None:
    """Make a node certificate for ADDRESS, signed by the cluster CA."""
    try:
        files = certs.issue_node(ca_dir, address, out, name=name, force=force)
    except ConfigError as exc:
        fail(str(exc), CONFIG_ERROR_STATUS)
    typer.echo(f"node certificate: {files.cert}")
    typer.echo(f"node key:         {files.key}")
