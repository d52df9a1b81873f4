"""The shared storage layer: engine settings, migrations, the `dataward db upgrade` command."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import typer
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from dataward.cli import db as db_cli
from dataward.cli.common import State, run_guarded
from dataward.db import (
    create_engine_for,
    current_revision,
    ensure_schema,
    head_revision,
    read_connection,
    upgrade,
)
from dataward.db.schema import metadata
from dataward.errors import ConfigurationError
from dataward.settings import load_settings
from dataward.vault.schema import metadata as vault_metadata


def test_sqlite_pragmas_and_immediate_transactions(sqlite_url: str) -> None:
    engine = create_engine_for(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 30_000
    # a second writer cannot begin while the first holds the write lock
    holder = engine.connect()
    holder.begin()
    blocked = create_engine_for(sqlite_url, busy_timeout_ms=50)
    with blocked.connect() as other, pytest.raises(OperationalError, match="locked"):
        other.begin()
    # a reader is not blocked (WAL, deferred BEGIN)
    with read_connection(blocked) as reader:
        assert reader.exec_driver_sql("SELECT 1").scalar() == 1
    holder.close()
    engine.dispose()
    blocked.dispose()


def test_bad_urls_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        create_engine_for("not a url")
    with pytest.raises(ConfigurationError, match="mysql"):
        create_engine_for("mysql://localhost/x")


def test_postgresql_url_uses_psycopg3(pg_url: str) -> None:
    engine = create_engine_for(pg_url.replace("postgresql+psycopg://", "postgresql://"))
    assert engine.dialect.driver == "psycopg"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()


def _table_of(diff: object) -> str | None:
    item = diff[1] if isinstance(diff, tuple) else diff[0][2] if isinstance(diff, list) else None
    if hasattr(item, "table"):
        item = item.table
    return getattr(item, "name", None) if item is not None else None


def _diff(engine: Engine) -> list[object]:
    """Differences between the migrated database and the audit MetaData (other modules'
    tables, such as the vault's, are not ours to compare)."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn)
        diffs = compare_metadata(ctx, metadata)
    return [d for d in diffs if _table_of(d) in metadata.tables or _table_of(d) is None]


def test_migrations_build_exactly_the_schema(db_url: str) -> None:
    engine = create_engine_for(db_url)
    assert current_revision(engine) is None
    upgrade(db_url)
    upgrade(db_url)  # idempotent
    assert current_revision(engine) == head_revision()
    assert _diff(engine) == []
    engine.dispose()


def test_migrations_build_exactly_the_vault_schema(db_url: str) -> None:
    engine = create_engine_for(db_url)
    upgrade(engine)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), vault_metadata)
    assert [d for d in diffs if _table_of(d) in vault_metadata.tables] == []
    engine.dispose()


def test_concurrent_upgrades_do_not_collide(db_url: str) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            upgrade(db_url)
        except BaseException as exc:  # collected and re-checked below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    engine = create_engine_for(db_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_ensure_schema_auto_for_sqlite_explicit_for_postgres(sqlite_url: str, pg_url: str) -> None:
    lite = create_engine_for(sqlite_url)
    ensure_schema(lite)
    assert current_revision(lite) == head_revision()
    pg = create_engine_for(pg_url)
    with pytest.raises(ConfigurationError, match="dataward db upgrade"):
        ensure_schema(pg)
    lite.dispose()
    pg.dispose()


def test_db_upgrade_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATAWARD_DATABASE_URL", raising=False)
    root = typer.Typer()

    @root.callback()
    def _cb(ctx: typer.Context) -> None:
        ctx.obj = State(settings=load_settings(tmp_path / "home"))

    root.add_typer(db_cli.app, name="db")
    assert run_guarded(root, ["db", "upgrade"]) == 0
    engine = create_engine_for(f"sqlite:///{tmp_path / 'home' / 'dataward.db'}")
    assert current_revision(engine) == head_revision()
    engine.dispose()
