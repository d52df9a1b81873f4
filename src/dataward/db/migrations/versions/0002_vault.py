"""Vault tables: subjects, encrypted values, blind index, shares.

Subject data keys are NOT here: they live in the key ring database (see
``dataward.vault.schema``), so that a copy of this database holds no key material.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _subject_fk() -> sa.ForeignKey:
    return sa.ForeignKey("vault_subjects.subject_id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "vault_subjects",
        sa.Column("subject_id", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("subject_id", name="pk_vault_subjects"),
    )
    op.create_table(
        "vault_values",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_id", sa.String(128), nullable=False),  # no FK: see vault.schema
        sa.Column("field", sa.String(200), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("data_class", sa.String(16), nullable=False),
        sa.Column("protection", sa.String(16), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=True),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("stored_at", sa.DateTime(), nullable=False),
        sa.Column("archive_due", sa.DateTime(), nullable=True),
        sa.Column("destroy_due", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_vault_values"),
        sa.UniqueConstraint("subject_id", "field", name="uq_vault_values_subject_field"),
    )
    op.create_index("ix_vault_values_archive_due", "vault_values", ["state", "archive_due"])
    op.create_index("ix_vault_values_destroy_due", "vault_values", ["state", "destroy_due"])
    op.create_index("ix_vault_values_subject_category", "vault_values", ["subject_id", "category"])
    op.create_table(
        "vault_blind_index",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("token", sa.LargeBinary(32), nullable=False),
        sa.Column("subject_id", sa.String(128), _subject_fk(), nullable=False),
        sa.Column("field", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint(
            "kind", "token", "subject_id", "field", name="pk_vault_blind_index"
        ),
    )
    op.create_index("ix_vault_blind_index_subject", "vault_blind_index", ["subject_id", "field"])
    op.create_table(
        "vault_shares",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_id", sa.String(128), _subject_fk(), nullable=False),
        sa.Column("field", sa.String(200), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("recipient", sa.String(200), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("shared_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_vault_shares"),
    )
    op.create_index("ix_vault_shares_subject_id", "vault_shares", ["subject_id"])


def downgrade() -> None:
    op.drop_index("ix_vault_shares_subject_id", table_name="vault_shares")
    op.drop_table("vault_shares")
    op.drop_index("ix_vault_blind_index_subject", table_name="vault_blind_index")
    op.drop_table("vault_blind_index")
    op.drop_index("ix_vault_values_subject_category", table_name="vault_values")
    op.drop_index("ix_vault_values_destroy_due", table_name="vault_values")
    op.drop_index("ix_vault_values_archive_due", table_name="vault_values")
    op.drop_table("vault_values")
    op.drop_table("vault_subjects")
