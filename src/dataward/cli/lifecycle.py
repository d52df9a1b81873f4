"""`dataward lifecycle run`: apply the policy's retention (archive, destroy, shred)."""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Annotated

import typer

from dataward.cards.expiry import expire_cards
from dataward.cards.intake import CardIntake
from dataward.cards.registry import processor_from_env
from dataward.cli.common import state_of
from dataward.cli.vault import open_cli_vault
from dataward.errors import InputError
from dataward.service.context import card_token_key
from dataward.vault.core import _naive, utcnow
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

    Cards are never shredded before their token is deleted at the card processor: with
    DATAWARD_PROCESSOR_* set, due cards are removed there, then here ("cards" in the report);
    without it they are held ("held").
    """
    when = None
    if now is not None:
        try:
            when = datetime.fromisoformat(now)
        except ValueError:
            raise InputError("--now must be an ISO-8601 time like 2030-01-01T00:00:00") from None
    out: dict[str, object] = {}
    with_processor = bool(os.environ.get("DATAWARD_PROCESSOR_URL"))
    if with_processor and when is not None and _naive(when) > utcnow():
        raise InputError(
            "--now lies in the future: with a card processor configured that would delete "
            "tokens at the real processor; unset DATAWARD_PROCESSOR_URL to try it"
        )
    # A misconfigured processor or a missing card key is reported before anything changes.
    key = card_token_key(state_of(ctx).settings, create=False) if with_processor else None
    processor = processor_from_env() if with_processor else None
    try:
        with open_cli_vault(ctx) as v:
            # The vault's retention first (card subjects held, never shredded here), then the
            # cards at their processor: a slow processor never delays the rest.
            out.update(run_lifecycle(v, when).to_dict())
            if processor is not None and key is not None:
                out["cards"] = expire_cards(CardIntake(v, processor, token_key=key), when).to_dict()
    finally:
        close = getattr(processor, "close", None)  # HttpCardProcessor holds a pool
        if callable(close):
            close()
    typer.echo(json.dumps(out, sort_keys=True))
