"""The tamper-evident audit log: hash chain, Merkle tree, signed checkpoints, proofs, export."""

from __future__ import annotations

from dataward.audit.checkpoint import Checkpoint, load_checkpoint_file, sign_checkpoint
from dataward.audit.entry import (
    OPERATIONAL_ACTIONS,
    OUTCOMES,
    AuditEntry,
    Decision,
    Scrubber,
    build_entry,
)
from dataward.audit.export import export_log, verify_offline
from dataward.audit.keys import key_id, load_signing_key, rotate_signing_key
from dataward.audit.log import AuditLog
from dataward.audit.merkle import (
    ConsistencyProof,
    InclusionProof,
    verify_consistency,
    verify_inclusion,
)
from dataward.audit.prune import PruneResult, prune_log
from dataward.audit.scrub import detector_scrubber
from dataward.audit.verify import VerifyResult

__all__ = [
    "OPERATIONAL_ACTIONS",
    "OUTCOMES",
    "AuditEntry",
    "AuditLog",
    "Checkpoint",
    "ConsistencyProof",
    "Decision",
    "InclusionProof",
    "PruneResult",
    "Scrubber",
    "VerifyResult",
    "build_entry",
    "detector_scrubber",
    "export_log",
    "key_id",
    "load_checkpoint_file",
    "load_signing_key",
    "prune_log",
    "rotate_signing_key",
    "sign_checkpoint",
    "verify_consistency",
    "verify_inclusion",
    "verify_offline",
]
