"""`dataward db`: the database schema."""

from __future__ import annotations

import typer

from dataward.cli.common import out_console, state_of
from dataward.db import create_engine_for, current_revision, upgrade

app = typer.Typer(no_args_is_help=True)


@app.command("upgrade")
def upgrade_command(ctx: typer.Context) -> None:
    """Create or migrate the tables (audit log, vault) to the newest revision."""
    settings = state_of(ctx).settings
    settings.ensure_home()
    engine = create_engine_for(settings.effective_database_url)
    try:
        upgrade(engine)
        out_console.print(f"database at revision {current_revision(engine)}")
    finally:
        engine.dispose()
