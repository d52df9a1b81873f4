"""`dataward lifecycle run`: apply the policy's retention (archive, destroy, shred)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from dataward.cli.vault import open_cli_vault
from dataward.errors import InputError
from dataward.vault.lifecycle import run_lifecycle

app = typer.Typer(no_args_is_help=True)


@app.command("run")
def run(
    ctx: typer.Context,
    now: Annotated[
        str | None,
        typer.Option("--now", help="Pretend it is this ISO-8601 time (default: now, UTC)."),
    ] = None,
) -> None:
    """Archive due records, destroy archived records when due; print what was done."""
    when = None
    if now is not None:
        try:
            when = datetime.fromisoformat(now)
        except ValueError:
            raise InputError("--now must be an ISO-8601 time like 2030-01-01T00:00:00") from None
    with open_cli_vault(ctx) as v:
        report = run_lifecycle(v, when)
    typer.echo(json.dumps(report.to_dict(), sort_keys=True))
