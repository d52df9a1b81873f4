"""Shared fixtures: database URLs for SQLite and for a fresh PostgreSQL schema per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

PG_BASE_URL = os.environ.get(
    "DATAWARD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """An SQLite file in the test's own temporary directory."""
    return f"sqlite:///{tmp_path / 'dataward.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose search_path is a fresh, uniquely named schema, dropped after the test.

    CI guarantees the server is up, so an unreachable server FAILS the test (no silent skip).
    """
    admin = create_engine(PG_BASE_URL, isolation_level="AUTOCOMMIT")
    schema = f"t_{uuid.uuid4().hex[:20]}"
    try:
        conn = admin.connect()
    except OperationalError:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL is unreachable at {PG_BASE_URL}; start it (`.ci/run` does) or set "
            "DATAWARD_TEST_PG_URL"
        )
    try:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield f"{PG_BASE_URL}?options=-csearch_path%3D{schema}"
    finally:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.close()
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test using it runs once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url = request.getfixturevalue(name)
    assert isinstance(url, str)
    return url
