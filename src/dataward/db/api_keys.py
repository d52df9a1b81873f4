"""The table of the HTTP service's API keys (SQLAlchemy Core), in the data database.

Created by the Alembic revision ``0003_api_keys``. One row per key: its public id (12 lowercase
hex digits, the actor in the audit log), the policy role it acts as, a label for people, the
SHA-256 of its secret (hex; the secret itself is never stored), when it was made and by whom,
and when it was revoked (``NULL`` while active). Times are naive UTC.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, String, Table

__all__ = ["api_keys", "metadata"]

metadata = MetaData()

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(12), primary_key=True),
    Column("role", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", DateTime(), nullable=False),
    Column("revoked_at", DateTime(), nullable=True),
    Column("created_by", String(128), nullable=True),
)
