"""Open a vault from settings: the one place that wires the real parts together."""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path

from sqlalchemy import Engine

from dataward.audit import AuditLog, detector_scrubber, load_signing_key
from dataward.db import create_engine_for, ensure_schema
from dataward.detect.engine import Detector
from dataward.policy import load_policy
from dataward.settings import Settings
from dataward.vault.keyring import KeyRing
from dataward.vault.keystore import keystore_from_settings
from dataward.vault.vault import Vault

__all__ = ["keyring_url", "open_vault"]


def keyring_url(settings: Settings, environ: Mapping[str, str] | None = None) -> str:
    """``DATAWARD_VAULT_KEYRING_URL``, else ``sqlite:///<home>/keys/keyring.db``."""
    env = os.environ if environ is None else environ
    explicit = env.get("DATAWARD_VAULT_KEYRING_URL")
    if explicit:
        return explicit
    keys = settings.ensure_home() / "keys"
    keys.mkdir(mode=0o700, exist_ok=True)
    path = keys / "keyring.db"
    _touch_private(path)
    return f"sqlite:///{path}"


def _touch_private(path: Path) -> None:
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def open_vault(
    settings: Settings,
    environ: Mapping[str, str] | None = None,
    *,
    engine: Engine | None = None,
) -> Vault:
    """A vault on the configured database, policy, key store, key ring, audit log, detector.

    The embedded SQLite database is migrated automatically; PostgreSQL needs
    ``dataward db upgrade`` first.
    """
    env = os.environ if environ is None else environ
    settings.ensure_home()
    data = engine or create_engine_for(settings.effective_database_url)
    ensure_schema(data)
    policy = load_policy(settings=settings)
    keystore = keystore_from_settings(settings, env)
    keyring = KeyRing(create_engine_for(keyring_url(settings, env)), keystore)
    detector = Detector.default()
    audit = AuditLog(
        data,
        signing_key=load_signing_key(settings.home, env),
        taxonomy=policy.taxonomy,
        scrubber=detector_scrubber(detector),
    )
    return Vault(data, policy, keyring, audit, detector)
