"""``chordshare rm NAME``: take an upload out of the network again.

Through the node that accepted the upload no secret is needed: that node kept it. Through any
other node, pass the removal secret the upload printed (``--secret``, or
``$CHORDSHARE_REMOVAL_SECRET``, which keeps it out of the shell history). Exit status 0 once
every holder dropped its copy (or keeps it only for another upload of the same content), 1 when
some holder did not answer or refused the secret: running the same command again finishes it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from chordshare.cli.client import (
    DEFAULT_NODE,
    ConfigOption,
    JsonOption,
    NodeOption,
    TokenOption,
    connected,
    owner_token,
)
from chordshare.cli.report import RUNTIME_ERROR_STATUS, fail


def register(app: typer.Typer) -> None:
    app.command("rm")(remove)


def remove(
    name: Annotated[str, typer.Argument(help="The upload's name in the network.")],
    content_hash: Annotated[
        str | None,
        typer.Option("--hash", help="Its content hash (hex), when several uploads share the name."),
    ] = None,
    secret: Annotated[
        str | None,
        typer.Option(
            "--secret",
            envvar="CHORDSHARE_REMOVAL_SECRET",
            metavar="SECRET",
            help="The removal secret `put` printed (not needed on the node that accepted it).",
            show_default=False,
        ),
    ] = None,
    node: NodeOption = DEFAULT_NODE,
    as_json: JsonOption = False,
    token: TokenOption = None,
    config: ConfigOption = None,
) -> None:
    """Withdraw an upload from the network: every node holding a copy of it drops the copy
    and stops listing itself. Needs the node's API token (as `put`)."""
    with connected(node, owner_token(token, config)) as api:
        answer = api.remove(name, content_hash=content_hash and content_hash.lower(), secret=secret)
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
    else:
        short = answer.content_hash[:12]
        dropped = len(answer.removed)
        typer.echo(
            f"removed {answer.name} ({short}): {dropped} "
            f"{'copy' if dropped == 1 else 'copies'} dropped"
            + "".join(f"\n  dropped by {p.grpc_address}" for p in answer.removed)
        )
        for peer in answer.kept:
            typer.echo(f"  kept by {peer.grpc_address} for another upload of the same file")
    if not answer.complete:
        missing = {**answer.unreachable, **answer.refused}
        fail(
            f"{len(missing)} holders still keep a copy ("
            + "; ".join(f"{a}: {why}" for a, why in missing.items())
            + "); run the same command again later",
            RUNTIME_ERROR_STATUS,
            "Incomplete",
        )
