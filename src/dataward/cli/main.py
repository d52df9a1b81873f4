"""The root ``dataward`` command. Every command group is registered here, explicitly, once."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from dataward.cli import audit as audit_cli
from dataward.cli import db as db_cli
from dataward.cli import detect as detect_cli
from dataward.cli import keys as keys_cli
from dataward.cli import lifecycle as lifecycle_cli
from dataward.cli import policy as policy_cli
from dataward.cli import serve as serve_cli
from dataward.cli import vault as vault_cli
from dataward.cli.common import State, run_guarded
from dataward.settings import load_settings

app = typer.Typer(
    name="dataward",
    help="Turn a privacy agreement into running code: classify, decide, enforce, audit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# The one place where commands and command groups are registered.
app.add_typer(policy_cli.app, name="policy", help="Show, check, test and query the policy.")
app.add_typer(audit_cli.app, name="audit", help="Verify, query, prove and export the audit log.")
app.add_typer(db_cli.app, name="db", help="Create or migrate the database schema.")
app.add_typer(vault_cli.app, name="vault", help="Store, read, find, export and destroy data.")
app.add_typer(lifecycle_cli.app, name="lifecycle", help="Archive and destroy data on schedule.")
app.add_typer(keys_cli.app, name="keys", help="Create, list and revoke API keys.")
app.command("detect", help="Find personal data in text or JSON Lines.")(detect_cli.detect_command)
app.command("redact", help="Write text with personal data redacted.")(detect_cli.redact_command)
app.command("serve", help="Serve the HTTP API (production).")(serve_cli.serve_command)
app.command("up", help="Run everything locally: vault, card processor, HTTP API.")(
    serve_cli.up_command
)


@app.callback()
def _root(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            help="Data directory (default: $DATAWARD_HOME, else the user data directory).",
            show_default=False,
        ),
    ] = None,
) -> None:
    ctx.obj = State(settings=load_settings(home))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: maps DatawardError to its exit code and a clean message."""
    sys.exit(run_guarded(app, argv))
