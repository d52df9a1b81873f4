"""The reference processor's own store: SQLite, separate from dataward's database.

What it holds: random tokens, and for each the card data a processor needs to charge later
(PAN, holder) **encrypted with the processor's own AES-256-GCM key** (the ``store key``), plus
brand, last four and expiry in clear. The CVV is never stored: it is checked at tokenization and
dropped (PCI DSS 3.3.1.2). Idempotency records keep a keyed HMAC of the request (never the
request) and the response that was given, so the same key always returns the same answer.
Deleting a token deletes its encrypted card data.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "IdempotencyConflictError",
    "ProcessorStore",
    "RefusedError",
    "StoredCard",
    "UnknownReferenceError",
    "load_or_create_store_key",
]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY,
    sealed_card BLOB NOT NULL,
    brand TEXT NOT NULL,
    last4 TEXT NOT NULL,
    exp_month INTEGER NOT NULL,
    exp_year INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS charges (
    charge_id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    refunded_minor INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS refunds (
    refund_id TEXT PRIMARY KEY,
    charge_id TEXT NOT NULL,
    amount_minor INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency (
    operation TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response TEXT NOT NULL,
    PRIMARY KEY (operation, key)
);
"""


class IdempotencyConflictError(Exception):
    """The idempotency key was already used for a different request."""


class UnknownReferenceError(Exception):
    """A token or charge that does not exist."""


class RefusedError(Exception):
    """The operation is not allowed; ``args[0]`` is a short error code."""


@dataclass(frozen=True, slots=True)
class StoredCard:
    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


def load_or_create_store_key(path: Path) -> bytes:
    """Read the processor's 32-byte store key (hex), creating it with mode 0600 if absent."""
    if path.exists():
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
        if len(key) != 32:
            raise ValueError(f"{path}: a store key is 32 bytes in hex")
        return key
    key = AESGCM.generate_key(bit_length=256)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key.hex() + "\n")
    return key


class ProcessorStore:
    """Thread-safe access to the processor's SQLite file (one connection, one lock)."""

    def __init__(self, path: str | Path, store_key: bytes) -> None:
        if len(store_key) != 32:
            raise ValueError("the processor store key is 32 bytes")
        self._aead = AESGCM(store_key)
        self._mac_key = hmac.new(store_key, b"idempotency-fingerprint", hashlib.sha256).digest()
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- idempotency -------------------------------------------------------------------------

    def fingerprint(self, body: Mapping[str, Any]) -> str:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")
        return hmac.new(self._mac_key, canonical, hashlib.sha256).hexdigest()

    def once(
        self,
        operation: str,
        key: str,
        fingerprint: str,
        action: Callable[[sqlite3.Connection], dict[str, Any]],
    ) -> dict[str, Any]:
        """Run ``action`` once per (operation, key) in one transaction; replay its answer after.

        A different request under a used key raises :class:`IdempotencyConflictError`.
        """
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT fingerprint, response FROM idempotency WHERE operation=? AND key=?",
                    (operation, key),
                ).fetchone()
                if row is not None:
                    db.execute("ROLLBACK")
                    if not hmac.compare_digest(row[0], fingerprint):
                        raise IdempotencyConflictError(operation)
                    result: dict[str, Any] = json.loads(row[1])
                    return result
                result = action(db)
                db.execute(
                    "INSERT INTO idempotency(operation, key, fingerprint, response) "
                    "VALUES (?, ?, ?, ?)",
                    (operation, key, fingerprint, json.dumps(result)),
                )
                db.execute("COMMIT")
                return result
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    # --- operations, run inside once() ----------------------------------------------------------

    def add_card(
        self,
        db: sqlite3.Connection,
        *,
        pan: str,
        holder: str,
        brand: str,
        exp_month: int,
        exp_year: int,
    ) -> StoredCard:
        token = "tok_" + secrets.token_urlsafe(24)  # random: nothing links it to the PAN
        nonce = os.urandom(12)
        plain = json.dumps({"pan": pan, "holder": holder}).encode("utf-8")
        sealed = nonce + self._aead.encrypt(nonce, plain, token.encode("ascii"))
        card = StoredCard(token, brand, pan[-4:], exp_month, exp_year)
        db.execute(
            "INSERT INTO tokens(token, sealed_card, brand, last4, exp_month, exp_year) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (token, sealed, brand, card.last4, exp_month, exp_year),
        )
        return card

    def card(self, db: sqlite3.Connection, token: str) -> StoredCard:
        row = db.execute(
            "SELECT token, brand, last4, exp_month, exp_year FROM tokens WHERE token=?", (token,)
        ).fetchone()
        if row is None:
            raise UnknownReferenceError("token")
        return StoredCard(*row)

    def add_charge(
        self,
        db: sqlite3.Connection,
        *,
        token: str,
        amount_minor: int,
        currency: str,
        status: str,
    ) -> str:
        charge_id = "ch_" + secrets.token_urlsafe(18)
        db.execute(
            "INSERT INTO charges(charge_id, token, amount_minor, currency, status) "
            "VALUES (?, ?, ?, ?, ?)",
            (charge_id, token, amount_minor, currency, status),
        )
        return charge_id

    def add_refund(self, db: sqlite3.Connection, *, charge_id: str, amount_minor: int) -> str:
        row = db.execute(
            "SELECT amount_minor, refunded_minor, status FROM charges WHERE charge_id=?",
            (charge_id,),
        ).fetchone()
        if row is None:
            raise UnknownReferenceError("charge")
        amount, refunded, status = row
        if status != "approved" or refunded + amount_minor > amount:
            raise RefusedError("refund_exceeds_charge")
        refund_id = "re_" + secrets.token_urlsafe(18)
        db.execute(
            "UPDATE charges SET refunded_minor = refunded_minor + ? WHERE charge_id=?",
            (amount_minor, charge_id),
        )
        db.execute(
            "INSERT INTO refunds(refund_id, charge_id, amount_minor) VALUES (?, ?, ?)",
            (refund_id, charge_id, amount_minor),
        )
        return refund_id

    def delete_card(self, db: sqlite3.Connection, token: str) -> None:
        if db.execute("DELETE FROM tokens WHERE token=?", (token,)).rowcount == 0:
            raise UnknownReferenceError("token")

    # --- inspection (tests, operators) ------------------------------------------------------

    def count(self, table: str) -> int:
        if table not in {"tokens", "charges", "refunds", "idempotency"}:
            raise ValueError("unknown table")
        with self._lock:
            (n,) = self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()  # noqa: S608 - table name from the fixed set above
        return int(n)
