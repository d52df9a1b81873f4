"""Fixtures of the audit tests: a migrated database, a log with a fresh key, entry factories."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from audit_factories import make_fields  # type: ignore[import-not-found]
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from dataward.audit import AuditLog
from dataward.db import create_engine_for, upgrade


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    upgrade(db_url)
    eng = create_engine_for(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def log(engine: Engine, key: Ed25519PrivateKey) -> AuditLog:
    return AuditLog(engine, signing_key=key)


@pytest.fixture
def filled(log: AuditLog) -> AuditLog:
    """A log of 20 entries with a signed checkpoint at 12 and at 20."""
    log.append_many(make_fields(i) for i in range(12))
    log.checkpoint()
    log.append_many(make_fields(i) for i in range(12, 20))
    log.checkpoint()
    return log
