"""BulkInsert stores exactly what SQLAlchemy Core's executemany stores, on both backends (COPY on
PostgreSQL, executemany on SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from dataward.db import create_engine_for
from dataward.db.bulk import BulkInsert

meta = MetaData()
things = Table(
    "bulk_things",
    meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(50), nullable=False),
    Column("blob", LargeBinary, nullable=True),
    Column("n", Integer, nullable=True),
    Column("at", DateTime(), nullable=True),
    Column("due", DateTime(), nullable=True),
)
COLUMNS = ("name", "blob", "n", "at", "due")

T0 = datetime(2026, 11, 29, 7, 0, 0, 0)
T1 = datetime(2031, 2, 28, 23, 59, 59, 999_999)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    e = create_engine_for(db_url)
    meta.drop_all(e)
    meta.create_all(e)
    try:
        yield e
    finally:
        meta.drop_all(e)
        e.dispose()


ROWS = [
    ("a", b"\x00\x01", 1, T0, T1),
    ("b", b"", 0, T0, None),  # the batch's time repeats, a due may be missing
    ("c", None, None, T1, T0),
    ("d", bytes(range(256)), -5, T0, T1),
]


def _stored(engine: Engine, prefix: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(*(things.c[c] for c in COLUMNS))
            .where(things.c.name.like(f"{prefix}%"))
            .order_by(things.c.name)
        ).all()
    return [(r[0][len(prefix) :], *r[1:]) for r in rows]


def test_rows_read_back_as_core_inserts_them(engine: Engine) -> None:
    bulk = BulkInsert(things, COLUMNS)
    with engine.begin() as conn:
        bulk.run(conn, [(f"bulk-{r[0]}", *r[1:]) for r in ROWS])
        conn.execute(
            insert(things),
            [dict(zip(COLUMNS, (f"core-{r[0]}", *r[1:]), strict=True)) for r in ROWS],
        )
    assert _stored(engine, "bulk-") == _stored(engine, "core-")
    assert [(r[0], *(bytes(x) if isinstance(x, memoryview) else x for x in r[1:])) for r in
            _stored(engine, "bulk-")] == ROWS  # fmt: skip


def test_no_rows_is_a_no_op(engine: Engine) -> None:
    with engine.begin() as conn:
        BulkInsert(things, COLUMNS).run(conn, [])
    assert _stored(engine, "") == []


def test_unknown_column_is_refused_at_construction() -> None:
    with pytest.raises(KeyError):
        BulkInsert(things, ("name", "nope"))


def test_equal_aware_datetimes_in_other_zones_are_converted_each(sqlite_url: str) -> None:
    """The per-batch datetime memo keys on the zone too: 12:00 UTC and 13:00 +01:00 are equal
    instants, but SQLite's DateTime stores their wall-clock fields, as Core does."""
    engine = create_engine_for(sqlite_url)
    meta.create_all(engine)
    utc = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    plus1 = datetime(2026, 1, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    assert utc == plus1
    rows = [("x-utc", None, None, utc, None), ("x-plus1", None, None, plus1, None)]
    with engine.begin() as conn:
        BulkInsert(things, COLUMNS).run(conn, rows)
        conn.execute(
            insert(things),
            [dict(zip(COLUMNS, ("y" + r[0][1:], *r[1:]), strict=True)) for r in rows],
        )
    with engine.connect() as conn:
        raw = dict(conn.exec_driver_sql("SELECT name, at FROM bulk_things").all())
    engine.dispose()
    assert raw["x-utc"] == raw["y-utc"]
    assert raw["x-plus1"] == raw["y-plus1"]
    assert raw["x-utc"] != raw["x-plus1"]


def test_a_row_of_the_wrong_width_is_refused(engine: Engine) -> None:
    with engine.begin() as conn, pytest.raises(ValueError, match="5 values"):
        BulkInsert(things, COLUMNS).run(conn, [("short", None)])


def test_aware_datetimes_are_stored_as_core_stores_them(engine: Engine) -> None:
    """On PostgreSQL an aware datetime is converted by the server, not cut to its wall clock
    (COPY would cut it): BulkInsert stores what Core stores, on both backends."""
    plus1 = datetime(2026, 1, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    rows = [("aw-1", None, None, plus1, T0)]
    with engine.begin() as conn:
        BulkInsert(things, COLUMNS).run(conn, rows)
        BulkInsert(things, COLUMNS, skip_existing=True).run(conn, [("sw-1", *rows[0][1:])])
        conn.execute(insert(things), [dict(zip(COLUMNS, ("cw-1", *rows[0][1:]), strict=True))])
    assert _stored(engine, "aw-") == _stored(engine, "cw-") == _stored(engine, "sw-")


def test_a_driver_error_is_sqlalchemys_error(engine: Engine) -> None:
    """A NOT NULL violation inside the bulk path raises SQLAlchemy's IntegrityError (the COPY
    path wraps psycopg's error as exec_driver_sql does), and the transaction rolls back."""
    with pytest.raises(IntegrityError), engine.begin() as conn:
        BulkInsert(things, COLUMNS).run(
            conn, [("ok-1", None, 1, T0, None), (None, None, 2, T0, None)]
        )
    assert _stored(engine, "ok-") == []


keyed = Table(
    "bulk_keyed",
    meta,
    Column("k", String(50), primary_key=True),
    Column("n", Integer, nullable=False),
)


def test_skip_existing_leaves_taken_keys_alone(engine: Engine) -> None:
    bulk = BulkInsert(keyed, ("k", "n"), skip_existing=True)
    with engine.begin() as conn:
        bulk.run(conn, [("a", 1), ("b", 2)])
    with engine.begin() as conn:
        bulk.run(conn, [("b", 20), ("c", 30)])  # b is taken: no error, b keeps its row
    with engine.connect() as conn:
        got = conn.execute(select(keyed.c.k, keyed.c.n).order_by(keyed.c.k)).all()
    assert [tuple(r) for r in got] == [("a", 1), ("b", 2), ("c", 30)]
    with pytest.raises(IntegrityError), engine.begin() as conn:
        BulkInsert(keyed, ("k", "n")).run(conn, [("a", 9)])  # without it: the usual error
