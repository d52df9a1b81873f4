"""Key stores: file (0600, rotation keeps old KEKs) and environment; explicit registry."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from dataward.errors import ConfigurationError, KeyStoreError
from dataward.settings import load_settings
from dataward.vault.crypto import new_data_key
from dataward.vault.keystore import (
    KEYSTORES,
    EnvKeyStore,
    FileKeyStore,
    KeyStore,
    keystore_from_settings,
)


def b64key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def env() -> dict[str, str]:
    return {"DATAWARD_VAULT_KEK": b64key(), "DATAWARD_VAULT_INDEX_KEY": b64key()}


@pytest.fixture(params=["file", "env"])
def store(request: pytest.FixtureRequest, tmp_path: Path, env: dict[str, str]) -> KeyStore:
    if request.param == "file":
        return FileKeyStore(tmp_path / "keys")
    return EnvKeyStore(env)


def test_both_stores_satisfy_the_protocol(store: KeyStore) -> None:
    assert isinstance(store, KeyStore)
    dek = new_data_key()
    wrapped = store.wrap(dek, subject_id="cust-1")
    assert wrapped.kek_id == store.current_kek_id()
    assert dek not in wrapped.blob
    assert store.unwrap(wrapped, subject_id="cust-1") == dek
    with pytest.raises(KeyStoreError):
        store.unwrap(wrapped, subject_id="cust-2")
    assert len(store.index_key()) == 32
    assert store.index_key() == store.index_key()


def test_file_store_files_are_private(tmp_path: Path) -> None:
    ks = FileKeyStore(tmp_path / "keys")
    kid = ks.current_kek_id()
    ks.index_key()
    d = tmp_path / "keys"
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    files = [p for p in d.iterdir() if p.suffix == ".key"]
    assert {p.stem for p in files} == {kid, "index"}
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600


def test_file_rotation_keeps_old_keks_until_retired(tmp_path: Path) -> None:
    ks = FileKeyStore(tmp_path / "keys")
    dek = new_data_key()
    old = ks.wrap(dek, subject_id="s")
    new_id = ks.rotate()
    assert new_id != old.kek_id
    assert ks.current_kek_id() == new_id
    assert ks.kek_ids() == (old.kek_id, new_id)
    # a fresh process (no cache) still unwraps with the old KEK
    fresh = FileKeyStore(tmp_path / "keys")
    assert fresh.unwrap(old, subject_id="s") == dek
    assert fresh.wrap(dek, subject_id="s").kek_id == new_id
    with pytest.raises(KeyStoreError, match="current"):
        fresh.retire(new_id)
    fresh.retire(old.kek_id)
    with pytest.raises(KeyStoreError, match="not in"):
        FileKeyStore(tmp_path / "keys").unwrap(old, subject_id="s")


def test_file_store_reuses_existing_keys(tmp_path: Path) -> None:
    a = FileKeyStore(tmp_path / "keys")
    b = FileKeyStore(tmp_path / "keys")
    assert a.current_kek_id() == b.current_kek_id()
    assert a.index_key() == b.index_key()


def test_env_rotation_by_moving_the_old_key(env: dict[str, str]) -> None:
    old_store = EnvKeyStore(env)
    dek = new_data_key()
    wrapped = old_store.wrap(dek, subject_id="s")
    rotated_env = {
        "DATAWARD_VAULT_KEK": b64key(),
        "DATAWARD_VAULT_KEK_PREVIOUS": env["DATAWARD_VAULT_KEK"],
        "DATAWARD_VAULT_INDEX_KEY": env["DATAWARD_VAULT_INDEX_KEY"],
    }
    new_store = EnvKeyStore(rotated_env)
    assert new_store.current_kek_id() != wrapped.kek_id
    assert new_store.kek_ids()[-1] == new_store.current_kek_id()
    assert new_store.unwrap(wrapped, subject_id="s") == dek
    assert new_store.rotate() == new_store.current_kek_id()
    with pytest.raises(KeyStoreError):
        EnvKeyStore({**rotated_env, "DATAWARD_VAULT_KEK_PREVIOUS": ""}).unwrap(
            wrapped, subject_id="s"
        )


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"DATAWARD_VAULT_KEK": ""}, "DATAWARD_VAULT_KEK is not set"),
        ({"DATAWARD_VAULT_INDEX_KEY": ""}, "DATAWARD_VAULT_INDEX_KEY is not set"),
        ({"DATAWARD_VAULT_KEK": "!!notbase64"}, "not valid base64"),
        ({"DATAWARD_VAULT_KEK": base64.b64encode(b"short").decode()}, "32 bytes"),
    ],
)
def test_env_store_configuration_errors(
    env: dict[str, str], patch: dict[str, str], message: str
) -> None:
    bad = {**env, **patch}
    with pytest.raises(ConfigurationError, match=message) as info:
        EnvKeyStore(bad)
    assert bad["DATAWARD_VAULT_KEK"] not in str(info.value) or not bad["DATAWARD_VAULT_KEK"]


def test_registry_selects_the_store(tmp_path: Path, env: dict[str, str]) -> None:
    assert set(KEYSTORES) == {"file", "env"}
    s = load_settings(tmp_path, environ={})
    assert isinstance(keystore_from_settings(s, {}), FileKeyStore)
    assert isinstance(keystore_from_settings(s, env), EnvKeyStore)
    forced = keystore_from_settings(s, {**env, "DATAWARD_VAULT_KEYSTORE": "file"})
    assert isinstance(forced, FileKeyStore)
    with pytest.raises(ConfigurationError, match="unknown key store 'kms'"):
        keystore_from_settings(s, {"DATAWARD_VAULT_KEYSTORE": "kms"})


def test_a_new_key_file_appears_only_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another process reading the key directory while a key is written must never find an
    # empty or partial key file (it would call the key store damaged).
    keys = tmp_path / "keys"
    visible: list[list[str]] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        visible.append(sorted(p.name for p in keys.glob("*.key")))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    store = FileKeyStore(keys)
    kid = store.current_kek_id()
    assert visible and all(f"{kid}.key" not in names for names in visible)
    assert len((keys / f"{kid}.key").read_bytes()) == 32
    assert not list(keys.glob("*.tmp"))
