"""Run the Alembic migrations shipped inside the package; no alembic.ini needed.

The audit tables are revision ``0001``; the vault adds ``0002`` on top. ``upgrade`` is safe to
call from several processes at once: SQLite serializes it with its write lock (transactions begin
IMMEDIATE), PostgreSQL with a transaction-scoped advisory lock.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from dataward.db.engine import create_engine_for, is_sqlite
from dataward.errors import ConfigurationError, StorageError

__all__ = ["current_revision", "ensure_schema", "head_revision", "upgrade"]

SCRIPT_LOCATION = "dataward.db:migrations"
_LOCK_KEY = 0x64617461_77617264 & 0x7FFF_FFFF_FFFF_FFFF  # "dataward"


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest revision shipped with this version of dataward."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships 0001
        raise ConfigurationError("no migrations shipped; reinstall dataward")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` for an empty database."""
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        raise StorageError(
            f"cannot read the schema version ({type(exc).__name__}); is the database reachable?"
        ) from None


def upgrade(target: str | Engine, revision: str = "head") -> None:
    """Migrate the database at ``target`` (URL or engine) to ``revision``."""
    engine = create_engine_for(target) if isinstance(target, str) else target
    try:
        with engine.begin() as conn:
            if not is_sqlite(engine):
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            command.upgrade(_config(conn), revision)
    except SQLAlchemyError as exc:
        raise StorageError(
            f"database migration failed ({type(exc).__name__}); check the database URL and "
            "that the user may create tables"
        ) from None
    finally:
        if isinstance(target, str):
            engine.dispose()


def ensure_schema(engine: Engine, *, auto_upgrade: bool | None = None) -> None:
    """Make sure the schema is current: migrate automatically (default for SQLite), or raise
    :class:`ConfigurationError` asking for ``dataward db upgrade``."""
    auto = is_sqlite(engine) if auto_upgrade is None else auto_upgrade
    if current_revision(engine) == head_revision():
        return
    if auto:
        upgrade(engine)
        return
    raise ConfigurationError("the database schema is not current; run `dataward db upgrade` first")
