"""Envelope encryption: AES-256-GCM data keys, wrapped by a key-encryption key (KEK).

Each subject has its own random 256-bit data key (DEK). A field value is sealed with the DEK;
the associated data binds the ciphertext to ``(subject_id, field, version)``, so a ciphertext
copied into another row, another subject or another version fails authentication. A DEK is
wrapped with AES-256-GCM under a KEK; the wrap's associated data binds it to the KEK id and the
subject, so a wrapped key moved to another subject does not unwrap either.

Failures raise :class:`CiphertextError`, which names the subject, field and version (identifiers)
and never the value; the ``InvalidTag`` from ``cryptography`` is not chained.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dataward.errors import CiphertextError, KeyStoreError

__all__ = [
    "KEY_BYTES",
    "NONCE_BYTES",
    "CiphertextError",
    "KeyWrapper",
    "Sealed",
    "Sealer",
    "field_aad",
    "new_data_key",
    "open_value",
    "seal_value",
    "unwrap_data_key",
    "wrap_data_key",
]

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96-bit GCM nonce, random per encryption
_FIELD_DOMAIN = b"dataward/field/v1"
_WRAP_DOMAIN = b"dataward/dek-wrap/v1"
_FIELD_PREFIX = struct.pack(">I", len(_FIELD_DOMAIN)) + _FIELD_DOMAIN
_u32 = struct.Struct(">I").pack
_u64_part = struct.Struct(">IQ").pack  # the length (8) and the version, in one call


@dataclass(frozen=True, slots=True)
class Sealed:
    """One encrypted value: the random nonce and the ciphertext with its 16-byte GCM tag."""

    nonce: bytes
    ciphertext: bytes


def new_data_key() -> bytes:
    """A fresh random 256-bit data key."""
    return AESGCM.generate_key(bit_length=256)


def _encode(*parts: bytes) -> bytes:
    # Length-prefixed, so ("ab", "c") and ("a", "bc") never produce the same associated data.
    return b"".join(struct.pack(">I", len(p)) + p for p in parts)


def field_aad(subject_id: str, field: str, version: int) -> bytes:
    """The associated data that binds a field ciphertext to its row."""
    # Byte for byte _encode(_FIELD_DOMAIN, subject, field, version), without the generic loop.
    sid = subject_id.encode("utf-8")
    fld = field.encode("utf-8")
    parts = (_FIELD_PREFIX, _u32(len(sid)), sid, _u32(len(fld)), fld, _u64_part(8, version))
    return b"".join(parts)


def _check_key(key: bytes, what: str) -> None:
    if len(key) != KEY_BYTES:
        raise KeyStoreError(f"{what} must be {KEY_BYTES} bytes (AES-256), got {len(key)}")


class Sealer:
    """Seals many values under one data key with one AES-GCM context (a write batch builds one
    per subject instead of one per value). Each value still gets its own random nonce."""

    __slots__ = ("_aead",)

    def __init__(self, dek: bytes) -> None:
        _check_key(dek, "a data key")
        self._aead = AESGCM(dek)

    def seal(self, plaintext: bytes, *, subject_id: str, field: str, version: int) -> Sealed:
        """Encrypt ``plaintext`` for ``(subject_id, field, version)``."""
        nonce = os.urandom(NONCE_BYTES)
        ct = self._aead.encrypt(nonce, plaintext, field_aad(subject_id, field, version))
        return Sealed(nonce=nonce, ciphertext=ct)


def seal_value(
    dek: bytes, plaintext: bytes, *, subject_id: str, field: str, version: int
) -> Sealed:
    """Encrypt ``plaintext`` for ``(subject_id, field, version)`` under ``dek``."""
    return Sealer(dek).seal(plaintext, subject_id=subject_id, field=field, version=version)


def open_value(dek: bytes, sealed: Sealed, *, subject_id: str, field: str, version: int) -> bytes:
    """Decrypt a value sealed by :func:`seal_value`; :class:`CiphertextError` if it does not
    authenticate for exactly this subject, field and version."""
    _check_key(dek, "a data key")
    try:
        return AESGCM(dek).decrypt(
            sealed.nonce, sealed.ciphertext, field_aad(subject_id, field, version)
        )
    except (InvalidTag, ValueError):
        raise CiphertextError(
            f"the value of field {field!r} (version {version}) of subject {subject_id!r} does not "
            "authenticate: it was altered, copied from another row, or its key was destroyed"
        ) from None


def wrap_data_key(kek: bytes, dek: bytes, *, kek_id: str, subject_id: str) -> bytes:
    """``nonce || AES-GCM(kek, dek)`` bound to the KEK id and the subject."""
    return KeyWrapper(kek, kek_id).wrap(dek, subject_id=subject_id)


class KeyWrapper:
    """:func:`wrap_data_key` for many data keys under one KEK: one AES-GCM context and the
    associated data's KEK part built once (a batch of new subjects wraps many keys)."""

    __slots__ = ("_aead", "_prefix")

    def __init__(self, kek: bytes, kek_id: str) -> None:
        _check_key(kek, "a key-encryption key")
        self._aead = AESGCM(kek)
        self._prefix = _encode(_WRAP_DOMAIN, kek_id.encode("utf-8"))

    def wrap(self, dek: bytes, *, subject_id: str) -> bytes:
        """``nonce || AES-GCM(kek, dek)`` bound to the KEK id and the subject."""
        _check_key(dek, "a data key")
        nonce = os.urandom(NONCE_BYTES)
        sid = subject_id.encode("utf-8")
        aad = self._prefix + _u32(len(sid)) + sid  # == _encode(domain, kek id, subject)
        return nonce + self._aead.encrypt(nonce, dek, aad)


def unwrap_data_key(kek: bytes, wrapped: bytes, *, kek_id: str, subject_id: str) -> bytes:
    """Inverse of :func:`wrap_data_key`; :class:`CiphertextError` if it does not authenticate."""
    _check_key(kek, "a key-encryption key")
    aad = _encode(_WRAP_DOMAIN, kek_id.encode("utf-8"), subject_id.encode("utf-8"))
    try:
        dek = AESGCM(kek).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError):
        raise CiphertextError(
            f"the data key of subject {subject_id!r} does not unwrap with key-encryption key "
            f"{kek_id!r}: it was altered or belongs to another subject"
        ) from None
    _check_key(dek, "an unwrapped data key")
    return dek
