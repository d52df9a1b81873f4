"""Where the signing key comes from, its file mode, its id, and rotation."""

from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataward.audit import key_id, load_signing_key, rotate_signing_key
from dataward.audit.keys import ENV_KEY, ENV_KEY_FILE, default_key_path, public_bytes
from dataward.errors import ConfigurationError


def test_generated_on_first_use_with_mode_0600(tmp_path: Path) -> None:
    key = load_signing_key(tmp_path, {})
    path = default_key_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key_id(load_signing_key(tmp_path, {})) == key_id(key)  # read back, not regenerated


def test_key_id_is_a_prefix_of_the_public_key_hash() -> None:
    key = Ed25519PrivateKey.generate()
    assert key_id(key) == hashlib.sha256(public_bytes(key)).hexdigest()[:16]


def test_from_environment_seed_and_from_file(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    b64 = base64.b64encode(seed).decode()
    assert key_id(load_signing_key(tmp_path, {ENV_KEY: b64})) == key_id(key)
    pem = tmp_path / "k.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    assert key_id(load_signing_key(tmp_path, {ENV_KEY_FILE: str(pem)})) == key_id(key)
    assert not default_key_path(tmp_path).exists()


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"short").decode()])
def test_bad_key_material_is_refused_without_echo(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_signing_key(tmp_path, {ENV_KEY: bad})
    assert bad not in str(info.value)


def test_rotation_keeps_the_old_key_file(tmp_path: Path) -> None:
    first = load_signing_key(tmp_path, {})
    old, new = rotate_signing_key(tmp_path, {})
    assert key_id(old) == key_id(first) != key_id(new)
    assert key_id(load_signing_key(tmp_path, {})) == key_id(new)
    retired = default_key_path(tmp_path).with_name(f"audit_ed25519.{key_id(old)}.retired")
    assert stat.S_IMODE(retired.stat().st_mode) == 0o600
    with pytest.raises(ConfigurationError):
        rotate_signing_key(tmp_path, {ENV_KEY: base64.b64encode(bytes(32)).decode()})
