"""The vault: governed, encrypted storage of personal data (see :mod:`dataward.vault.vault`)."""

from __future__ import annotations

from dataward.vault.crypto import CiphertextError
from dataward.vault.keyring import KeyRing
from dataward.vault.keystore import (
    KEYSTORES,
    EnvKeyStore,
    FileKeyStore,
    KeyStore,
    WrappedKey,
    keystore_from_settings,
)
from dataward.vault.lifecycle import LifecycleReport, run_lifecycle
from dataward.vault.model import Actor, FieldInfo, FieldValue
from dataward.vault.passwords import PasswordHasher
from dataward.vault.vault import Vault

__all__ = [
    "KEYSTORES",
    "Actor",
    "CiphertextError",
    "EnvKeyStore",
    "FieldInfo",
    "FieldValue",
    "FileKeyStore",
    "KeyRing",
    "KeyStore",
    "LifecycleReport",
    "PasswordHasher",
    "Vault",
    "WrappedKey",
    "keystore_from_settings",
    "run_lifecycle",
]
