"""The storage layer shared by the audit log and the vault: engines, tables, migrations."""

from __future__ import annotations

from dataward.db.engine import create_engine_for, is_sqlite, read_connection
from dataward.db.migrate import current_revision, ensure_schema, head_revision, upgrade

__all__ = [
    "create_engine_for",
    "current_revision",
    "ensure_schema",
    "head_revision",
    "is_sqlite",
    "read_connection",
    "upgrade",
]
