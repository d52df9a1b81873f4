"""Application-level encryption of the processor's token: AES-256-GCM under a dedicated key.

The agreement says the token "is stored and exchanged with the processor encrypted". TLS protects
it on the wire to the processor; everywhere else (the vault, our API, our logs) it only appears
sealed: ``dwtok1.<key id>.<base64url(nonce || ciphertext || tag)>``. The associated data binds
a sealed token to a context (the intake uses the subject and the card reference), so a sealed
token copied onto another card does not open. The key is dedicated to tokens (not the vault's
key-encryption key); several keys may be given to :func:`open_token` for rotation, the key id in
the sealed form picks the right one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dataward.cards.model import ProcessorToken
from dataward.errors import ConfigurationError, InputError, KeyStoreError
from dataward.files import write_private

__all__ = ["SEALED_PREFIX", "SealedToken", "TokenKey", "open_token", "seal_token"]

SEALED_PREFIX: Final = "dwtok1"
_KEY_BYTES: Final = 32
_NONCE_BYTES: Final = 12
_DOMAIN: Final = b"dataward/card-token/v1"


@dataclass(frozen=True, slots=True, repr=False)
class TokenKey:
    """A 256-bit key used only to seal processor tokens. ``repr`` shows only its id."""

    material: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.material, bytes) or len(self.material) != _KEY_BYTES:
            raise ConfigurationError(
                "the card token key must be exactly 32 random bytes (AES-256); "
                "create one with TokenKey.generate()"
            )

    @property
    def key_id(self) -> str:
        """A short public fingerprint of the key (not reversible), written into sealed tokens."""
        return hashlib.sha256(b"dataward/token-key-id/v1" + self.material).hexdigest()[:12]

    @classmethod
    def generate(cls) -> TokenKey:
        return cls(AESGCM.generate_key(bit_length=256))

    @classmethod
    def from_file(cls, path: str | Path) -> TokenKey:
        """Read a key file: one line, the key in standard base64."""
        p = Path(path)
        try:
            text = p.read_text(encoding="ascii").strip()
            material = base64.b64decode(text, validate=True)
        except (OSError, UnicodeDecodeError, binascii.Error):
            raise ConfigurationError(
                f"cannot read the card token key from {p}: it must be a readable file holding "
                "32 bytes in base64 (create it with `TokenKey.generate().write(path)`)"
            ) from None
        return cls(material)

    def write(self, path: str | Path, *, exist_ok: bool = False) -> Path:
        """Write the key in base64 to a new file with mode 0600, whole (a concurrent reader
        never sees it half written). Refuses to overwrite; ``exist_ok``: a file already there
        (another process's key) is left as it is."""
        p = Path(path)
        try:
            created = write_private(p, base64.b64encode(self.material) + b"\n")
        except OSError as exc:
            raise ConfigurationError(
                f"cannot create the card token key file {p} ({exc.strerror}); "
                "choose a new path in a writable directory"
            ) from None
        if not created and not exist_ok:
            raise ConfigurationError(
                f"cannot create the card token key file {p} (it already exists); choose a new path"
            )
        return p

    def __repr__(self) -> str:
        return f"TokenKey(id={self.key_id})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a token key cannot be pickled")


@dataclass(frozen=True, slots=True)
class SealedToken:
    """A processor token sealed with a :class:`TokenKey`: safe to store, log and return."""

    text: str

    @property
    def key_id(self) -> str:
        return self.text.split(".", 2)[1]

    def __str__(self) -> str:
        return self.text


def _aad(context: str) -> bytes:
    ctx = context.encode("utf-8")
    return _DOMAIN + struct.pack(">I", len(ctx)) + ctx


def seal_token(token: ProcessorToken, key: TokenKey, *, context: str) -> SealedToken:
    """Encrypt ``token`` under ``key``, bound to ``context`` (e.g. subject and card reference)."""
    nonce = os.urandom(_NONCE_BYTES)
    ct = AESGCM(key.material).encrypt(nonce, token.value.encode("ascii"), _aad(context))
    body = base64.urlsafe_b64encode(nonce + ct).decode("ascii").rstrip("=")
    return SealedToken(f"{SEALED_PREFIX}.{key.key_id}.{body}")


def open_token(
    sealed: SealedToken | str, keys: TokenKey | Iterable[TokenKey], *, context: str
) -> ProcessorToken:
    """Decrypt a sealed token; the key is chosen by the id written in the sealed form."""
    text = sealed.text if isinstance(sealed, SealedToken) else sealed
    if not isinstance(text, str):
        raise InputError("a sealed card token must be text") from None
    parts = text.split(".")
    if len(parts) != 3 or parts[0] != SEALED_PREFIX:
        raise InputError(f"not a sealed card token (expected '{SEALED_PREFIX}.<key id>.<data>')")
    ring = {k.key_id: k for k in ([keys] if isinstance(keys, TokenKey) else keys)}
    key = ring.get(parts[1])
    if key is None:
        raise KeyStoreError(
            f"the card token was sealed with key {parts[1]!r}, which is not configured; "
            "add that key to the token key ring"
        )
    try:
        raw = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
        if base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") != parts[2]:
            raise ValueError("non-canonical encoding")  # one sealed form per ciphertext
        plain = AESGCM(key.material).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _aad(context))
        return ProcessorToken(plain.decode("ascii"))
    except (binascii.Error, ValueError, InvalidTag, UnicodeDecodeError, InputError):
        pass
    # Raised outside the except block: no chained exception, nothing of the token in it.
    raise KeyStoreError(
        "the sealed card token failed authentication: altered, moved to another card, or "
        "sealed with another key; re-register the card"
    )
