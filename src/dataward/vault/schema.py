"""The vault's tables (SQLAlchemy Core), one code path for SQLite and PostgreSQL.

Data database (created by the Alembic revision ``0002_vault``):

* ``vault_subjects`` — one row per data subject (customer, contact).
* ``vault_values`` — one row per (subject, field): category, class, purpose, the AES-256-GCM
  nonce and ciphertext (or an Argon2id hash for passwords, itself not reversible), the version
  bound into the associated data, the lifecycle state (``active`` | ``archived``) and the dates
  the policy's retention gives (``archive_due``, ``destroy_due``). Times are naive UTC.
* ``vault_blind_index`` — HMAC tokens (``kind``, ``token``) pointing at (subject, field).
* ``vault_shares`` — which field went to which registered processor, for which purpose.
* ``vault_destroyed`` — destroyed subjects whose unreadable value rows await the purge
  (revision ``0004``).

Key database (:data:`keyring_metadata`, created by :class:`dataward.vault.keyring.KeyRing`):

* ``vault_subject_keys`` — each subject's data key, wrapped by a KEK of the key store. It lives
  *outside* the data database on purpose: a backup or dump of the data database then holds no
  key material, so destroying a subject's wrapped key (crypto-shredding) makes that subject's
  ciphertexts unreadable in every copy of the data, backups included.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "blind_index",
    "destroyed",
    "keyring_metadata",
    "metadata",
    "shares",
    "subject_keys",
    "subjects",
    "values",
]

metadata = MetaData()

subjects = Table(
    "vault_subjects",
    metadata,
    Column("subject_id", String(128), primary_key=True),
    Column("created_at", DateTime(), nullable=False),
)

# Subjects destroyed whose (unreadable) value rows still await the lifecycle's purge: a write
# that re-creates one of these ids drops the residue first. Writers of new subjects look here
# (a small table, usually empty) instead of searching ``vault_values`` for every new id.
destroyed = Table(
    "vault_destroyed",
    metadata,
    Column("subject_id", String(128), primary_key=True),
    Column("destroyed_at", DateTime(), nullable=False),
)

values = Table(
    "vault_values",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # No foreign key on purpose: destroy deletes the subject row and shreds its key at once;
    # the (unreadable) value rows are purged in batches by the lifecycle, so a destroy costs
    # the same for 10 values or 100,000. Every read joins vault_subjects.
    Column("subject_id", String(128), nullable=False),
    Column("field", String(200), nullable=False),
    Column("category", String(100), nullable=False),
    Column("data_class", String(16), nullable=False),
    Column("protection", String(16), nullable=False),  # encrypted | hashed
    Column("nonce", LargeBinary, nullable=True),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", String(16), nullable=False),  # active | archived
    Column("purpose", String(64), nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("stored_at", DateTime(), nullable=False),
    Column("archive_due", DateTime(), nullable=True),
    Column("destroy_due", DateTime(), nullable=True),
    UniqueConstraint("subject_id", "field", name="uq_vault_values_subject_field"),
    Index("ix_vault_values_archive_due", "state", "archive_due"),
    Index("ix_vault_values_destroy_due", "state", "destroy_due"),
    Index("ix_vault_values_subject_category", "subject_id", "category"),
)

blind_index = Table(
    "vault_blind_index",
    metadata,
    Column("kind", String(16), nullable=False),
    Column("token", LargeBinary(32), nullable=False),
    Column(
        "subject_id",
        String(128),
        ForeignKey("vault_subjects.subject_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("field", String(200), nullable=False),
    PrimaryKeyConstraint("kind", "token", "subject_id", "field", name="pk_vault_blind_index"),
    Index("ix_vault_blind_index_subject", "subject_id", "field"),
)

shares = Table(
    "vault_shares",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "subject_id",
        String(128),
        ForeignKey("vault_subjects.subject_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("field", String(200), nullable=False),
    Column("category", String(100), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("shared_at", DateTime(), nullable=False),
    Column("note", Text, nullable=True),
    Index("ix_vault_shares_subject_id", "subject_id"),
)

keyring_metadata = MetaData()

subject_keys = Table(
    "vault_subject_keys",
    keyring_metadata,
    Column("subject_id", String(128), primary_key=True),
    Column("kek_id", String(200), nullable=False),
    Column("wrapped", LargeBinary, nullable=False),
    Column("created_at", DateTime(), nullable=False),
    Index("ix_vault_subject_keys_kek_id", "kek_id"),
)
