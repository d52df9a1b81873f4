"""Key stores: where key-encryption keys (KEKs) live, and how data keys are wrapped by them.

The vault never sees a KEK. It hands a data key (DEK) to :meth:`KeyStore.wrap` and gets back a
:class:`WrappedKey` (the KEK id and an opaque blob); :meth:`KeyStore.unwrap` reverses it. That is
exactly the shape of a KMS (AWS KMS ``Encrypt``/``Decrypt`` with the subject as encryption
context), an HSM (``C_WrapKey``/``C_UnwrapKey``) or a transit engine (Vault ``transit/encrypt``),
so such a store is one class implementing :class:`KeyStore` plus one line in
:data:`KEYSTORES`. ``index_key()`` returns the secret used for blind indexes; a remote store
keeps it as a wrapped secret of its own.

Built in:

* :class:`FileKeyStore` — KEKs as files in ``<home>/keys/`` (mode 0600, directory 0700). Rotation
  creates a new KEK and keeps the old ones for unwrapping until :meth:`FileKeyStore.retire`.
* :class:`EnvKeyStore` — the KEK from ``DATAWARD_VAULT_KEK`` (base64 of 32 bytes), older KEKs from
  ``DATAWARD_VAULT_KEK_PREVIOUS`` (comma-separated) and the index key from
  ``DATAWARD_VAULT_INDEX_KEY``. It cannot create keys: to rotate, set a new ``DATAWARD_VAULT_KEK``,
  move the old value to ``DATAWARD_VAULT_KEK_PREVIOUS`` and run ``dataward vault rotate-keys``.

:func:`keystore_from_settings` picks one: ``DATAWARD_VAULT_KEYSTORE`` (``file`` or ``env``),
else ``env`` when ``DATAWARD_VAULT_KEK`` is set, else ``file``.
"""

from __future__ import annotations

import abc
import base64
import binascii
import hashlib
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from dataward.errors import ConfigurationError, KeyStoreError, NotFoundError
from dataward.files import write_private
from dataward.settings import Settings
from dataward.vault.crypto import KEY_BYTES, KeyWrapper, unwrap_data_key, wrap_data_key

__all__ = [
    "KEYSTORES",
    "EnvKeyStore",
    "FileKeyStore",
    "KeyStore",
    "WrappedKey",
    "keystore_from_settings",
]


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A data key wrapped by the KEK ``kek_id``; ``blob`` is opaque to the vault."""

    kek_id: str
    blob: bytes


@runtime_checkable
class KeyStore(Protocol):
    """What the vault needs from a key store (file, environment, KMS, HSM, transit engine)."""

    @property
    def name(self) -> str:
        """Short name for messages and ``dataward keys`` output (``file``, ``env``, ...)."""
        ...

    def current_kek_id(self) -> str:
        """The KEK new data keys are wrapped with."""
        ...

    def kek_ids(self) -> tuple[str, ...]:
        """Every KEK this store can still unwrap with, current last."""
        ...

    def wrap(self, dek: bytes, *, subject_id: str) -> WrappedKey:
        """Wrap ``dek`` with the current KEK, bound to ``subject_id``."""
        ...

    def unwrap(self, wrapped: WrappedKey, *, subject_id: str) -> bytes:
        """The data key; :class:`KeyStoreError` if the KEK is gone or the blob is altered."""
        ...

    def rotate(self) -> str:
        """Make a new KEK current (if the store can) and return the current id."""
        ...

    def retire(self, kek_id: str) -> None:
        """Forget an old KEK once nothing is wrapped with it any more."""
        ...

    def index_key(self) -> bytes:
        """The secret key of the blind indexes (separate from every KEK)."""
        ...


def _b64_key(value: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"{what} is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise ConfigurationError(
            f"{what} must decode to {KEY_BYTES} bytes, got {len(raw)}; "
            "create one with: python -c 'import os,base64;print(base64.b64encode(os.urandom(32))"
            ".decode())'"
        )
    return raw


def _fingerprint_id(prefix: str, key: bytes) -> str:
    return f"{prefix}-{hashlib.sha256(b'dataward-kek-id' + key).hexdigest()[:16]}"


class _LocalKeys(abc.ABC):
    """Shared wrap/unwrap for stores that hold the KEK bytes in this process."""

    @abc.abstractmethod
    def _kek(self, kek_id: str) -> bytes:
        """The key-encryption key ``kek_id``."""

    @abc.abstractmethod
    def current_kek_id(self) -> str:
        """The id of the key new data keys are wrapped with."""

    def wrap(self, dek: bytes, *, subject_id: str) -> WrappedKey:
        kid = self.current_kek_id()
        blob = wrap_data_key(self._kek(kid), dek, kek_id=kid, subject_id=subject_id)
        return WrappedKey(kek_id=kid, blob=blob)

    def wrap_many(self, deks: Mapping[str, bytes]) -> dict[str, WrappedKey]:
        """:meth:`wrap` for many subjects (``subject_id -> dek``), looking up the current KEK
        once (the file store lists its directory for that)."""
        kid = self.current_kek_id()
        wrapper = KeyWrapper(self._kek(kid), kid)
        return {
            sid: WrappedKey(kid, wrapper.wrap(dek, subject_id=sid)) for sid, dek in deks.items()
        }

    def unwrap(self, wrapped: WrappedKey, *, subject_id: str) -> bytes:
        kek = self._kek(wrapped.kek_id)
        return unwrap_data_key(kek, wrapped.blob, kek_id=wrapped.kek_id, subject_id=subject_id)


_KEK_FILE = re.compile(r"^kek-(\d{6})-([0-9a-f]{8})\.key$")


class FileKeyStore(_LocalKeys):
    """KEKs as 0600 files in a 0700 directory; the current one is the highest sequence number."""

    name = "file"

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._cache: dict[str, bytes] = {}

    # -- files ---------------------------------------------------------------------------------

    def _ensure_dir(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.directory.chmod(0o700)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot create the key directory {self.directory} ({exc.strerror}); "
                "check the data directory's permissions"
            ) from None

    def _write_new(self, path: Path, data: bytes) -> bool:
        """Create ``path`` exclusively with mode 0600 holding ``data`` (whole, see
        :func:`~dataward.files.write_private`); False if it already exists."""
        try:
            if data:
                return write_private(path, data)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # a marker
        except FileExistsError:
            return False
        except OSError as exc:
            raise KeyStoreError(f"cannot write key file {path} ({exc.strerror})") from None
        return True

    def _read(self, path: Path) -> bytes:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"key file {path} does not exist") from None
        except OSError as exc:
            raise KeyStoreError(f"cannot read key file {path} ({exc.strerror})") from None
        if len(data) != KEY_BYTES:
            raise KeyStoreError(f"key file {path} is damaged ({len(data)} bytes, not 32)")
        return data

    def _ids_sorted(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        found = []
        for p in self.directory.iterdir():
            m = _KEK_FILE.match(p.name)
            if m:
                found.append((int(m.group(1)), p.name[: -len(".key")]))
        return [kid for _, kid in sorted(found)]

    def _create_next(self, seq: int) -> str:
        self._ensure_dir()
        while True:
            kid = f"kek-{seq:06d}-{secrets.token_hex(4)}"
            # Two processes racing on the same sequence number: O_EXCL on a marker decides.
            if self._write_new(self.directory / f".seq-{seq:06d}", b""):
                key = secrets.token_bytes(KEY_BYTES)
                if not self._write_new(self.directory / f"{kid}.key", key):  # pragma: no cover
                    raise KeyStoreError(f"key file {kid}.key already exists")
                self._cache[kid] = key
                return kid
            # Someone else took this number; wait for their key file to appear, else go on.
            existing = [k for k in self._ids_sorted() if k.startswith(f"kek-{seq:06d}-")]
            if existing:
                return existing[0]
            seq += 1

    # -- KeyStore --------------------------------------------------------------------------------

    def kek_ids(self) -> tuple[str, ...]:
        return tuple(self._ids_sorted())

    def current_kek_id(self) -> str:
        ids = self._ids_sorted()
        if ids:
            return ids[-1]
        return self._create_next(1)

    def _kek(self, kek_id: str) -> bytes:
        cached = self._cache.get(kek_id)
        if cached is not None:
            return cached
        if not re.fullmatch(r"kek-\d{6}-[0-9a-f]{8}", kek_id):
            raise KeyStoreError(f"{kek_id!r} is not a file key store KEK id")
        try:
            key = self._read(self.directory / f"{kek_id}.key")
        except NotFoundError:
            raise KeyStoreError(
                f"key-encryption key {kek_id!r} is not in {self.directory}: restore it from your "
                "key backup, or the data keys wrapped with it cannot be opened"
            ) from None
        self._cache[kek_id] = key
        return key

    def rotate(self) -> str:
        ids = self._ids_sorted()
        last = int(ids[-1].split("-")[1]) if ids else 0
        return self._create_next(last + 1)

    def retire(self, kek_id: str) -> None:
        if kek_id == self.current_kek_id():
            raise KeyStoreError(f"{kek_id!r} is the current KEK and cannot be retired")
        path = self.directory / f"{kek_id}.key"
        if not _KEK_FILE.match(path.name) or not path.exists():
            raise NotFoundError(f"key-encryption key {kek_id!r} is not in {self.directory}")
        path.unlink()
        self._cache.pop(kek_id, None)

    def index_key(self) -> bytes:
        path = self.directory / "index.key"
        if "index" in self._cache:
            return self._cache["index"]
        if not path.exists():
            self._ensure_dir()
            self._write_new(path, secrets.token_bytes(KEY_BYTES))  # loser of a race reads below
        key = self._read(path)
        self._cache["index"] = key
        return key


class EnvKeyStore(_LocalKeys):
    """KEKs from environment variables; ids are fingerprints of the key (never the key)."""

    name = "env"

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        current = env.get("DATAWARD_VAULT_KEK")
        if not current:
            raise ConfigurationError(
                "DATAWARD_VAULT_KEK is not set; set it to base64 of 32 random bytes, or use the "
                "file key store (DATAWARD_VAULT_KEYSTORE=file)"
            )
        index = env.get("DATAWARD_VAULT_INDEX_KEY")
        if not index:
            raise ConfigurationError(
                "DATAWARD_VAULT_INDEX_KEY is not set; the environment key store needs a separate "
                "blind-index key (base64 of 32 random bytes) that stays the same across rotations"
            )
        self._index = _b64_key(index, "DATAWARD_VAULT_INDEX_KEY")
        keys: dict[str, bytes] = {}
        for i, part in enumerate(
            p for p in env.get("DATAWARD_VAULT_KEK_PREVIOUS", "").split(",") if p.strip()
        ):
            k = _b64_key(part, f"DATAWARD_VAULT_KEK_PREVIOUS entry {i + 1}")
            keys[_fingerprint_id("env", k)] = k
        cur = _b64_key(current, "DATAWARD_VAULT_KEK")
        self._current = _fingerprint_id("env", cur)
        keys.pop(self._current, None)
        keys[self._current] = cur
        self._keys = keys

    def kek_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def current_kek_id(self) -> str:
        return self._current

    def _kek(self, kek_id: str) -> bytes:
        try:
            return self._keys[kek_id]
        except KeyError:
            raise KeyStoreError(
                f"key-encryption key {kek_id!r} is not in DATAWARD_VAULT_KEK nor "
                "DATAWARD_VAULT_KEK_PREVIOUS; add the old key to DATAWARD_VAULT_KEK_PREVIOUS"
            ) from None

    def rotate(self) -> str:
        # An environment cannot be written from here: the operator sets the new key; rotation
        # then re-wraps every data key under it (see the module docstring).
        return self._current

    def retire(self, kek_id: str) -> None:
        raise KeyStoreError(
            f"remove {kek_id!r} from DATAWARD_VAULT_KEK_PREVIOUS to retire it (the environment "
            "key store cannot change its own environment)"
        )

    def index_key(self) -> bytes:
        return self._index


def _file_store(settings: Settings, _environ: Mapping[str, str]) -> KeyStore:
    return FileKeyStore(settings.home / "keys")


def _env_store(_settings: Settings, environ: Mapping[str, str]) -> KeyStore:
    return EnvKeyStore(environ)


# The one place where key stores are registered. A KMS/HSM/transit store adds a line here.
KEYSTORES: dict[str, Callable[[Settings, Mapping[str, str]], KeyStore]] = {
    "file": _file_store,
    "env": _env_store,
}


def keystore_from_settings(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> KeyStore:
    """The key store the settings and environment select (see the module docstring)."""
    env = os.environ if environ is None else environ
    kind = env.get("DATAWARD_VAULT_KEYSTORE") or (
        "env" if env.get("DATAWARD_VAULT_KEK") else "file"
    )
    factory = KEYSTORES.get(kind)
    if factory is None:
        raise ConfigurationError(
            f"unknown key store {kind!r} in DATAWARD_VAULT_KEYSTORE; "
            f"choose one of {', '.join(sorted(KEYSTORES))}"
        )
    return factory(settings, env)
