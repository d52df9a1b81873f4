"""One way to open a database: SQLite (embedded default) or PostgreSQL, one code path above it.

SQLite is opened in WAL mode with foreign keys on and a busy timeout, and every transaction starts
with ``BEGIN IMMEDIATE``: a writer takes the write lock when it begins, so two processes can never
both read the same head of the audit chain and then race to extend it (no ``SQLITE_BUSY`` upgrade
deadlocks either). PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from dataward.errors import ConfigurationError

__all__ = [
    "BUSY_TIMEOUT_MS",
    "READ_ONLY_OPTION",
    "begins_immediate",
    "create_engine_for",
    "is_sqlite",
    "read_connection",
]

BUSY_TIMEOUT_MS = 60_000


def _parse(url: str | URL) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError(
            "the database URL does not parse; set DATAWARD_DATABASE_URL to "
            "sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"
        ) from None
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigurationError(
            f"database backend {parsed.get_backend_name()!r} is not supported; "
            "use sqlite:///PATH or postgresql+psycopg://..."
        )
    return parsed


def is_sqlite(engine: Engine) -> bool:
    """True for an SQLite engine."""
    return engine.dialect.name == "sqlite"


def _enable_wal(cur: Any, busy_timeout_ms: int) -> None:
    """Switch the database to WAL (a persistent setting, so only its first opening changes it).

    Switching needs an exclusive lock, and SQLite answers "database is locked" at once, without
    its busy handler, when another connection is opening the same new file at that moment; so
    retry with a short back-off for up to the busy timeout.
    """
    deadline = time.monotonic() + busy_timeout_ms / 1000
    delay = 0.005
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


def _connect_hook(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (the pysqlite driver would otherwise
        # start deferred transactions on its own).
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        try:
            _enable_wal(cur, busy_timeout_ms)
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cur.execute("PRAGMA synchronous=NORMAL")
        finally:
            cur.close()

    return on_connect


READ_ONLY_OPTION = "dataward_read_only"


def _on_begin(conn: Any) -> None:
    # Readers (verify, query, export) take no write lock: WAL lets them run beside writers.
    if conn.get_execution_options().get(READ_ONLY_OPTION):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def begins_immediate(engine: Engine) -> bool:
    """True if SQLite transactions of ``engine`` begin IMMEDIATE (engine made here)."""
    return event.contains(engine, "begin", _on_begin)


def read_connection(engine: Engine) -> Connection:
    """A connection for reading only: on SQLite its transactions begin DEFERRED, so it never
    blocks writers. Use it as a context manager."""
    return engine.connect().execution_options(**{READ_ONLY_OPTION: True})


def create_engine_for(
    url: str | URL, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS, **kwargs: Any
) -> Engine:
    """An engine for ``url`` configured for dataward (see the module docstring).

    ``busy_timeout_ms``: how long an SQLite writer waits for the lock. ``kwargs`` go to
    :func:`sqlalchemy.create_engine` (e.g. ``pool_size``).
    """
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        memory = parsed.database in (None, "", ":memory:")
        if memory:
            kwargs.setdefault("poolclass", StaticPool)
            kwargs.setdefault("connect_args", {"check_same_thread": False})
        else:
            kwargs.setdefault("connect_args", {"timeout": busy_timeout_ms / 1000})
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _connect_hook(busy_timeout_ms))
        event.listen(engine, "begin", _on_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)
