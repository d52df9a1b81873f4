"""Destroyed subjects whose value rows await the purge (``vault_destroyed``).

A write that creates a subject looks up its id here instead of searching ``vault_values``;
the table is filled with the subjects whose rows already await the purge.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vault_destroyed",
        sa.Column("subject_id", sa.String(128), nullable=False),
        sa.Column("destroyed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("subject_id", name="pk_vault_destroyed"),
    )
    # residue of subjects destroyed before this revision (times are naive UTC everywhere)
    pg = op.get_bind().dialect.name == "postgresql"
    op.execute(_BACKFILL_PG if pg else _BACKFILL)


_BACKFILL = (
    "INSERT INTO vault_destroyed (subject_id, destroyed_at) "
    "SELECT DISTINCT v.subject_id, CURRENT_TIMESTAMP FROM vault_values v "
    "WHERE NOT EXISTS (SELECT 1 FROM vault_subjects s WHERE s.subject_id = v.subject_id)"
)
_BACKFILL_PG = _BACKFILL.replace("CURRENT_TIMESTAMP", "(CURRENT_TIMESTAMP AT TIME ZONE 'UTC')")


def downgrade() -> None:
    op.drop_table("vault_destroyed")
