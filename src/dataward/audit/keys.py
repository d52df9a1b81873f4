"""The Ed25519 key that signs checkpoints: where it comes from, its id, rotation.

Order of precedence: ``DATAWARD_AUDIT_KEY_FILE`` (a file holding the base64 32-byte seed or a PEM
private key), ``DATAWARD_AUDIT_SIGNING_KEY`` (the base64 seed itself), else
``<home>/keys/audit_ed25519.key``, generated on first use with mode 0600. A key id is the first 16
hex digits of SHA-256 over the raw public key. Rotation writes a new key file and keeps the old
one beside it (``audit_ed25519.<key id>.retired``); the log keeps every public key it signed with.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dataward.errors import ConfigurationError, KeyStoreError
from dataward.files import write_private

__all__ = [
    "ENV_KEY",
    "ENV_KEY_FILE",
    "KEY_FILENAME",
    "default_key_path",
    "key_id",
    "load_signing_key",
    "public_bytes",
    "public_key_from_bytes",
    "rotate_signing_key",
]

ENV_KEY_FILE = "DATAWARD_AUDIT_KEY_FILE"
ENV_KEY = "DATAWARD_AUDIT_SIGNING_KEY"
KEY_FILENAME = "audit_ed25519.key"


def public_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_from_bytes(raw: bytes) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise KeyStoreError("a stored audit public key is not 32 raw Ed25519 bytes") from None


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey | bytes) -> str:
    """First 16 hex digits of SHA-256 over the raw public key."""
    raw = key if isinstance(key, bytes) else public_bytes(key)
    return hashlib.sha256(raw).hexdigest()[:16]


def default_key_path(home: Path) -> Path:
    return home / "keys" / KEY_FILENAME


def _seed_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def _from_text(text: bytes, source: str) -> Ed25519PrivateKey:
    stripped = text.strip()
    if stripped.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(stripped, password=None)
        except (ValueError, TypeError):
            raise ConfigurationError(f"{source}: not a readable PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigurationError(f"{source}: the PEM key is not an Ed25519 key")
        return key
    try:
        seed = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"{source}: expected the base64 of a 32-byte seed") from None
    if len(seed) != 32:
        raise ConfigurationError(f"{source}: expected the base64 of a 32-byte seed")
    return Ed25519PrivateKey.from_private_bytes(seed)


def _read_file(path: Path) -> Ed25519PrivateKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the audit signing key {path} ({exc.strerror}); check {ENV_KEY_FILE} "
            "or the data directory"
        ) from None
    return _from_text(data, str(path))


def _write_new(path: Path, key: Ed25519PrivateKey, *, exclusive: bool) -> None:
    """Write the key file whole (:func:`~dataward.files.write_private`): ``exclusive``
    raises FileExistsError if it exists, else it is replaced."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = base64.b64encode(_seed_bytes(key)) + b"\n"
    if not write_private(path, data, replace=not exclusive):
        raise FileExistsError(path)


def load_signing_key(
    home: Path, environ: Mapping[str, str] | None = None, *, create: bool = True
) -> Ed25519PrivateKey:
    """The checkpoint signing key (see the module docstring for where it comes from)."""
    env = os.environ if environ is None else environ
    if env.get(ENV_KEY_FILE):
        return _read_file(Path(env[ENV_KEY_FILE]).expanduser())
    if env.get(ENV_KEY):
        return _from_text(env[ENV_KEY].encode("ascii", "replace"), ENV_KEY)
    path = default_key_path(home)
    if path.exists():
        return _read_file(path)
    if not create:
        raise ConfigurationError(
            f"no audit signing key at {path}; run `dataward audit checkpoint` once, or set "
            f"{ENV_KEY_FILE} / {ENV_KEY}"
        )
    key = Ed25519PrivateKey.generate()
    try:
        _write_new(path, key, exclusive=True)
    except FileExistsError:  # another process generated it first: use theirs
        return _read_file(path)
    except OSError as exc:
        raise KeyStoreError(f"cannot write the audit signing key {path} ({exc.strerror})") from None
    return key


def rotate_signing_key(
    home: Path, environ: Mapping[str, str] | None = None
) -> tuple[Ed25519PrivateKey, Ed25519PrivateKey]:
    """Replace the key file with a new key; returns ``(old, new)``. The old file is kept."""
    env = os.environ if environ is None else environ
    if env.get(ENV_KEY_FILE) or env.get(ENV_KEY):
        raise ConfigurationError(
            f"the audit key comes from {ENV_KEY_FILE} or {ENV_KEY}: rotate it there (the old "
            "public key stays in the log), then run `dataward audit checkpoint`"
        )
    path = default_key_path(home)
    old = load_signing_key(home, env)
    new = Ed25519PrivateKey.generate()
    retired = path.with_name(f"audit_ed25519.{key_id(old)}.retired")
    try:
        if not retired.exists():
            _write_new(retired, old, exclusive=True)
        _write_new(path, new, exclusive=False)
    except OSError as exc:
        raise KeyStoreError(
            f"cannot rotate the audit signing key {path} ({exc.strerror})"
        ) from None
    return old, new
