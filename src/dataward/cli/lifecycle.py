"""`dataward lifecycle run`: apply the policy's retention (archive, destroy, shred)."""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Annotated

import typer

from dataward.cards.expiry import CARD_RETENTION_HOLD, expire_cards
from dataward.cards.intake import CardIntake
from dataward.cards.registry import processor_from_env
from dataward.cli.common import state_of
from dataward.cli.vault import open_cli_vault
from dataward.errors import InputError
from dataward.service.context import card_token_key
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
    """Archive due records, destroy archived records when due; print what was done.

    Cards due for destruction are deleted at the card processor first when
    DATAWARD_PROCESSOR_* is set ("cards" in the report); without it they are held ("held").
    """
    when = None
    if now is not None:
        try:
            when = datetime.fromisoformat(now)
        except ValueError:
            raise InputError("--now must be an ISO-8601 time like 2030-01-01T00:00:00") from None
    out: dict[str, object] = {}
    with open_cli_vault(ctx) as v:
        # Cards first, at their processor (when one is configured); the vault's lifecycle then
        # holds every card subject, so none is shredded while its token lives at the processor.
        if os.environ.get("DATAWARD_PROCESSOR_URL"):
            processor = processor_from_env()
            try:
                key = card_token_key(state_of(ctx).settings)
                out["cards"] = expire_cards(CardIntake(v, processor, token_key=key), when).to_dict()
            finally:
                close = getattr(processor, "close", None)  # HttpCardProcessor holds a pool
                if callable(close):
                    close()
        report = run_lifecycle(v, when, hold=CARD_RETENTION_HOLD)
    out.update(report.to_dict())
    typer.echo(json.dumps(out, sort_keys=True))
