"""Vault fixtures: a real vault (policy, detector, audit log, file key store, key ring) per test,
on SQLite and on PostgreSQL through the shared ``db_url`` fixture."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dataward.audit import AuditLog
from dataward.db import create_engine_for, upgrade
from dataward.db.schema import audit_entries
from dataward.detect.engine import Detector
from dataward.policy import load_policy
from dataward.vault import Actor, FileKeyStore, KeyRing, PasswordHasher, Vault

CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

SERVICE = Actor("app-1", "service")
SUPPORT = Actor("agent-7", "support")
BILLING = Actor("billing-1", "billing")
SALES = Actor("sales-3", "sales")
AUTH = Actor("login-svc", "authentication")
DPM = Actor("dpm-1", "dpm")
ADMIN = Actor("ops-1", "admin")


def make_vault(url: str, home: Path) -> Vault:
    engine = create_engine_for(url)
    upgrade(engine)
    policy = load_policy()
    keystore = FileKeyStore(home / "keys")
    keyring = KeyRing(create_engine_for(f"sqlite:///{home / 'keyring.db'}"), keystore)
    audit = AuditLog(engine, taxonomy=policy.taxonomy)
    return Vault(engine, policy, keyring, audit, Detector.default(), hasher=CHEAP_HASHER)


@pytest.fixture
def vault(db_url: str, tmp_path: Path) -> Iterator[Vault]:
    v = make_vault(db_url, tmp_path)
    try:
        yield v
    finally:
        v.close()


@pytest.fixture
def sqlite_vault(sqlite_url: str, tmp_path: Path) -> Iterator[Vault]:
    v = make_vault(sqlite_url, tmp_path)
    try:
        yield v
    finally:
        v.close()


def audit_count(vault: Vault) -> int:
    with vault.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_entries)).scalar_one())


def last_audit(vault: Vault) -> dict[str, object]:
    with vault.engine.connect() as conn:
        row = conn.execute(
            select(audit_entries).order_by(audit_entries.c.seq.desc()).limit(1)
        ).one()
    return dict(row._mapping)
