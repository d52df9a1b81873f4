"""Signed checkpoints: (tree size, root, time, key id) under an Ed25519 signature."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dataward.audit.entry import format_time
from dataward.audit.keys import key_id, public_key_from_bytes
from dataward.errors import InputError

__all__ = ["CHECKPOINT_ORIGIN", "Checkpoint", "load_checkpoint_file", "sign_checkpoint"]

CHECKPOINT_ORIGIN = "dataward-audit-checkpoint/v1"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    tree_size: int
    root_hash: bytes
    time: str
    key_id: str
    signature: bytes

    def message(self) -> bytes:
        """The signed bytes (a small text note, one field a line)."""
        return (
            f"{CHECKPOINT_ORIGIN}\n{self.tree_size}\n{self.root_hash.hex()}\n"
            f"{self.time}\n{self.key_id}\n"
        ).encode("ascii")

    def signature_valid(self, public_key: Ed25519PublicKey | bytes) -> bool:
        pub = public_key_from_bytes(public_key) if isinstance(public_key, bytes) else public_key
        if key_id(pub) != self.key_id:
            return False
        try:
            pub.verify(self.signature, self.message())
        except InvalidSignature:
            return False
        return True

    def to_json(self, public_key: bytes | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "time": self.time,
            "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }
        if public_key is not None:
            out["public_key"] = base64.b64encode(public_key).decode("ascii")
        return out

    @classmethod
    def from_json(cls, doc: Any, source: str = "checkpoint") -> Checkpoint:
        try:
            return cls(
                tree_size=int(doc["tree_size"]),
                root_hash=bytes.fromhex(doc["root_hash"]),
                time=str(doc["time"]),
                key_id=str(doc["key_id"]),
                signature=base64.b64decode(doc["signature"], validate=True),
            )
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise InputError(
                f"{source}: not a dataward checkpoint (needs tree_size, root_hash, time, key_id, "
                "signature)"
            ) from None


def sign_checkpoint(
    key: Ed25519PrivateKey, tree_size: int, root: bytes, when: datetime | None = None
) -> Checkpoint:
    unsigned = Checkpoint(
        tree_size=tree_size,
        root_hash=root,
        time=format_time(when or datetime.now(UTC)),
        key_id=key_id(key),
        signature=b"",
    )
    return Checkpoint(
        tree_size=unsigned.tree_size,
        root_hash=unsigned.root_hash,
        time=unsigned.time,
        key_id=unsigned.key_id,
        signature=key.sign(unsigned.message()),
    )


def load_checkpoint_file(path: Path) -> tuple[Checkpoint, bytes | None]:
    """A checkpoint saved by ``dataward audit checkpoint`` and its public key, if included."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputError(f"{path}: cannot read a checkpoint JSON document") from None
    cp = Checkpoint.from_json(doc, str(path))
    pub = doc.get("public_key") if isinstance(doc, dict) else None
    try:
        raw = base64.b64decode(pub, validate=True) if isinstance(pub, str) else None
    except (binascii.Error, ValueError):
        raise InputError(f"{path}: public_key is not base64") from None
    return cp, raw
