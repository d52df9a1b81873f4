"""Models of the audit routes: entries, verification, checkpoints, proofs, public keys.

Hashes are lower-case hex; signatures and public keys are given both in base64 and in hex.
"""

from __future__ import annotations

import base64
from typing import Annotated, Final

from pydantic import Field

from dataward.audit import (
    AuditEntry,
    Checkpoint,
    ConsistencyProof,
    InclusionProof,
    VerifyResult,
)
from dataward.service.models.common import ResponseModel

__all__ = [
    "DEFAULT_PAGE",
    "MAX_PAGE",
    "CheckpointOut",
    "CheckpointsResponse",
    "ConsistencyProofOut",
    "DecisionOut",
    "EntriesResponse",
    "EntryOut",
    "HexHash",
    "InclusionProofOut",
    "KeysResponse",
    "PublicKeyOut",
    "VerifyOut",
]

DEFAULT_PAGE: Final = 100
MAX_PAGE: Final = 1000

HexHash = Annotated[
    str,
    Field(
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256, hex.",
        examples=["9f86d081884c7d659a2feaa0c55ad015" * 2],
    ),
]


class DecisionOut(ResponseModel):
    allowed: bool
    rule_id: str | None = Field(examples=["low-support"])
    policy_version: str | None = Field(examples=["2026.1"])


class EntryOut(ResponseModel):
    """One audit entry: identifiers and vocabulary only, never a personal value."""

    seq: int = Field(ge=1, examples=[42])
    time: str = Field(examples=["2026-11-29T06:35:03.000000Z"])
    actor_id: str = Field(description="The API key id (or user) that acted.")
    actor_role: str = Field(examples=["support"])
    action: str = Field(examples=["use"])
    subject_ref: str | None = Field(examples=["cust-1042"])
    categories: list[str] = Field(examples=[["contact.email"]])
    classes: list[str] = Field(examples=[["low"]])
    decision: DecisionOut | None
    purpose: str | None = Field(examples=["support"])
    recipient: str | None
    outcome: str = Field(examples=["ok"])
    request_id: str | None
    prev_hash: HexHash
    entry_hash: HexHash

    @classmethod
    def of(cls, e: AuditEntry) -> EntryOut:
        d = e.decision
        return cls(
            seq=e.seq,
            time=e.time,
            actor_id=e.actor_id,
            actor_role=e.actor_role,
            action=e.action,
            subject_ref=e.subject_ref,
            categories=list(e.categories),
            classes=list(e.classes),
            decision=None
            if d is None
            else DecisionOut(allowed=d.allowed, rule_id=d.rule_id, policy_version=d.policy_version),
            purpose=e.purpose,
            recipient=e.recipient,
            outcome=e.outcome,
            request_id=e.request_id,
            prev_hash=e.prev_hash.hex(),
            entry_hash=e.entry_hash.hex(),
        )


class EntriesResponse(ResponseModel):
    entries: list[EntryOut] = Field(description="Matching entries, oldest first.")
    next_after_seq: int | None = Field(
        description="Pass as `after_seq` for the next page; null on the last page."
    )


class VerifyOut(ResponseModel):
    """The result of recomputing the chain, the tree and every checkpoint."""

    ok: bool
    entries: int = Field(ge=0)
    checkpoints: int = Field(ge=0)
    root: str = Field(description="Merkle root of the log (hex).")
    first_bad_seq: int | None = Field(description="First entry that does not check out.")
    reason: str | None = Field(description="Why verification failed (no entry content).")
    checked_sizes: list[int] = Field(description="Tree sizes of the checkpoints checked.")

    @classmethod
    def of(cls, r: VerifyResult) -> VerifyOut:
        return cls(
            ok=r.ok,
            entries=r.entries,
            checkpoints=r.checkpoints,
            root=r.root.hex(),
            first_bad_seq=r.first_bad_seq,
            reason=r.reason,
            checked_sizes=list(r.checked_sizes),
        )


class CheckpointOut(ResponseModel):
    """A signed (tree size, root, time, key id); the message signed is documented in
    ``dataward.audit.checkpoint``."""

    tree_size: int = Field(ge=0)
    root_hash: HexHash
    time: str
    key_id: str = Field(examples=["3b1f0c9a7d2e4f60"])
    signature: str = Field(description="Ed25519 signature, base64.")
    signature_hex: str = Field(description="The same signature, hex.")

    @classmethod
    def of(cls, cp: Checkpoint) -> CheckpointOut:
        return cls(
            tree_size=cp.tree_size,
            root_hash=cp.root_hash.hex(),
            time=cp.time,
            key_id=cp.key_id,
            signature=base64.b64encode(cp.signature).decode("ascii"),
            signature_hex=cp.signature.hex(),
        )


class CheckpointsResponse(ResponseModel):
    checkpoints: list[CheckpointOut] = Field(description="Oldest first.")


class InclusionProofOut(ResponseModel):
    """RFC 9162 inclusion proof of entry ``seq`` (leaf index ``seq - 1``)."""

    seq: int = Field(ge=1)
    tree_size: int = Field(ge=1)
    leaf_hash: HexHash
    path: list[str] = Field(description="Sibling hashes, leaf to root (hex).")
    root: HexHash

    @classmethod
    def of(cls, p: InclusionProof) -> InclusionProofOut:
        return cls(
            seq=p.seq,
            tree_size=p.tree_size,
            leaf_hash=p.leaf_hash.hex(),
            path=[h.hex() for h in p.path],
            root=p.root.hex(),
        )


class ConsistencyProofOut(ResponseModel):
    """RFC 9162 consistency proof: the tree of ``first`` entries is a prefix of ``second``."""

    first: int = Field(ge=1)
    second: int = Field(ge=1)
    first_root: HexHash
    second_root: HexHash
    path: list[str] = Field(description="Proof hashes (hex).")

    @classmethod
    def of(cls, p: ConsistencyProof) -> ConsistencyProofOut:
        return cls(
            first=p.first,
            second=p.second,
            first_root=p.first_root.hex(),
            second_root=p.second_root.hex(),
            path=[h.hex() for h in p.path],
        )


class PublicKeyOut(ResponseModel):
    key_id: str = Field(description="First 16 hex digits of SHA-256 over the raw public key.")
    public_key: str = Field(description="Raw 32-byte Ed25519 public key, base64.")
    public_key_hex: str = Field(pattern=r"^[0-9a-f]{64}$")


class KeysResponse(ResponseModel):
    keys: list[PublicKeyOut] = Field(description="Every key that signed or may sign, by id.")
