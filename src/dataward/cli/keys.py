"""`dataward keys rotate`: a new key-encryption key, every data key re-wrapped, data untouched."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from dataward.cli.vault import open_cli_vault
from dataward.vault import Actor

app = typer.Typer(no_args_is_help=True)


@app.command("rotate")
def rotate(
    ctx: typer.Context,
    actor: Annotated[str, typer.Option("--actor", help="Who rotates (audit).")] = "cli",
    role: Annotated[str, typer.Option("--role", help="The operator's role.")] = "admin",
) -> None:
    """Rotate the key-encryption key and re-wrap every subject's data key."""
    with open_cli_vault(ctx) as v:
        report = v.rotate_keys(actor=Actor(actor, role))
    typer.echo(json.dumps(report, sort_keys=True))
