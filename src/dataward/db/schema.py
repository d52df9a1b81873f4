"""Tables of the audit log (SQLAlchemy Core). The vault keeps its own MetaData in its package.

Hashes are raw 32-byte values. Times are fixed-width ISO-8601 UTC strings
(``YYYY-MM-DDTHH:MM:SS.ffffffZ``) so they compare as text and hash identically on every backend.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = [
    "audit_checkpoints",
    "audit_entries",
    "audit_head",
    "audit_keys",
    "metadata",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

# One row per entry; seq starts at 1 and has no gaps.
audit_entries = Table(
    "audit_entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("occurred_at", String(32), nullable=True),
    Column("actor_id", String(128), nullable=True),
    Column("actor_role", String(64), nullable=True),
    Column("action", String(32), nullable=True),
    Column("subject_ref", String(128), nullable=True),
    Column("categories", Text, nullable=True),  # ",a.b,c.d," (sorted) or ""
    Column("classes", String(64), nullable=True),  # ",low,high," (sorted) or ""
    Column("allowed", Boolean, nullable=True),  # NULL: no decision recorded
    Column("rule_id", String(128), nullable=True),
    Column("policy_version", String(64), nullable=True),
    Column("purpose", String(64), nullable=True),
    Column("recipient", String(128), nullable=True),
    Column("outcome", String(16), nullable=True),
    Column("request_id", String(128), nullable=True),
    Column("prev_hash", LargeBinary(32), nullable=False),
    Column("entry_hash", LargeBinary(32), nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Index("ix_audit_entries_subject_ref", "subject_ref"),
    Index("ix_audit_entries_actor_id", "actor_id"),
    Index("ix_audit_entries_occurred_at", "occurred_at"),
    Index("ix_audit_entries_action", "action"),
)

# The single head row (id = 1): the last seq and its entry hash. Appenders lock it.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("entry_hash", LargeBinary(32), nullable=False),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tree_size", BigInteger, nullable=False),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("signature", LargeBinary(64), nullable=False),
    Index("ix_audit_checkpoints_tree_size", "tree_size"),
)

audit_keys = Table(
    "audit_keys",
    metadata,
    Column("key_id", String(16), primary_key=True),
    Column("public_key", LargeBinary(32), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("retired_at", String(32), nullable=True),
)
