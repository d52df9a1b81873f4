"""The hot INSERTs of a write batch: SQL compiled once per dialect, rows handed to the driver.

``conn.execute(table.insert(), [dict, ...])`` rebuilds and type-processes every row's parameters
inside SQLAlchemy, which for a batch of small rows costs more than the database's own work.
:class:`BulkInsert` takes rows as tuples in a fixed column order, applies the bind processors
SQLAlchemy would (its public ``TypeEngine.bind_processor`` for the connection's dialect) and runs
one DB-API ``executemany`` through :meth:`Connection.exec_driver_sql`. The SQL comes from
SQLAlchemy's compiler for the connection's dialect, compiled once, so SQLite and PostgreSQL share
this one code path; the statement joins the caller's transaction.

(Multi-row ``VALUES (...), (...)`` statements were measured too: no faster on SQLite, slower on
PostgreSQL, where psycopg re-parses a long statement on every execution.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.engine import Dialect

__all__ = ["BulkInsert"]

_MISSING = object()
_Processor = Callable[[Any], Any]


class _Compiled:
    """The INSERT for one dialect: its SQL, parameter style and bind processors."""

    __slots__ = ("positional", "procs", "sql")

    def __init__(self, table: Table, columns: tuple[str, ...], dialect: Dialect) -> None:
        compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
        if compiled.positional and tuple(compiled.positiontup or ()) != columns:
            raise RuntimeError(  # pragma: no cover - SQLAlchemy keeps the given order
                f"unexpected parameter order in the INSERT into {table.name}"
            )
        self.sql = compiled.string
        self.positional = compiled.positional
        procs = []
        for i, name in enumerate(columns):
            proc = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if proc is not None:
                procs.append((i, proc))
        self.procs: tuple[tuple[int, _Processor], ...] = tuple(procs)


class BulkInsert:
    """``INSERT INTO table (columns...)`` for many rows given as tuples in ``columns`` order."""

    __slots__ = ("_compiled", "columns", "table")

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        for name in columns:
            table.c[name]  # KeyError now rather than at the first write
        self.table = table
        self.columns = tuple(columns)
        self._compiled: dict[tuple[str, str, str], _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        key = (dialect.name, dialect.driver, dialect.paramstyle)
        compiled = self._compiled.get(key)
        if compiled is None:  # two threads may both compile: same result, either one is kept
            compiled = self._compiled[key] = _Compiled(self.table, self.columns, dialect)
        return compiled

    def run(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert ``rows`` inside ``conn``'s transaction (nothing to do for no rows)."""
        if not rows:
            return
        plan = self._for(conn.dialect)
        width = len(self.columns)
        if any(len(row) != width for row in rows):
            raise ValueError(f"every row must hold {width} values ({', '.join(self.columns)})")
        processed = _processed(rows, plan.procs)
        if plan.positional:
            conn.exec_driver_sql(plan.sql, processed)
        else:
            names = self.columns
            conn.exec_driver_sql(plan.sql, [dict(zip(names, r, strict=True)) for r in processed])


def _processed(
    rows: Sequence[tuple[Any, ...]], procs: tuple[tuple[int, _Processor], ...]
) -> list[tuple[Any, ...]]:
    """The rows with every value type-processed for the driver."""
    if not procs:
        return [tuple(row) for row in rows]
    # A batch's datetimes repeat (its time, its retention dues): each distinct one is converted
    # once. Equal datetimes with the same tzinfo have the same fields, hence the same text.
    seen: dict[tuple[int, datetime, Any], Any] = {}
    out: list[tuple[Any, ...]] = []
    for row in rows:
        values = list(row)
        for i, proc in procs:
            v = values[i]
            if type(v) is datetime:
                key = (i, v, v.tzinfo)
                hit = seen.get(key, _MISSING)
                if hit is _MISSING:
                    hit = seen[key] = proc(v)
                values[i] = hit
            else:
                values[i] = proc(v)
        out.append(tuple(values))
    return out
