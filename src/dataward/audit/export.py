"""Export the log for an auditor, and verify such an export with nothing but dataward.

An export directory holds ``entries.jsonl`` (one entry a line with its hashes),
``checkpoints.jsonl``, ``keys.json`` (key id -> base64 public key) and ``manifest.json``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dataward.audit.checkpoint import Checkpoint
from dataward.audit.entry import canonical_bytes
from dataward.audit.log import FETCH_SIZE, AuditLog
from dataward.audit.rows import chain_select, entry_from_row, row_pruned
from dataward.audit.verify import ChainRecord, VerifyResult, verify_records
from dataward.db.engine import read_connection
from dataward.db.schema import audit_entries as T  # noqa: N812 - short table alias
from dataward.errors import InputError

__all__ = ["EXPORT_FORMAT", "export_log", "verify_offline"]

EXPORT_FORMAT = "dataward-audit-export/v1"
_PRUNED_KEYS = frozenset({"seq", "time", "pruned", "leaf_hash"})


def export_log(log: AuditLog, directory: Path) -> dict[str, Any]:
    """Write the export into ``directory`` (created if missing); returns the manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    size, head_hash = log.head()
    count = 0
    with (directory / "entries.jsonl").open("w", encoding="utf-8") as fh:
        for doc in _export_docs(log, size):
            fh.write(json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n")
            count += 1
    keys = log.public_keys()
    with (directory / "checkpoints.jsonl").open("w", encoding="utf-8") as fh:
        for cp in log.checkpoints():
            fh.write(json.dumps(cp.to_json(keys.get(cp.key_id)), sort_keys=True) + "\n")
    (directory / "keys.json").write_text(
        json.dumps(
            {k: base64.b64encode(v).decode("ascii") for k, v in sorted(keys.items())}, indent=2
        )
        + "\n",
        encoding="utf-8",
    )
    manifest = {
        "format": EXPORT_FORMAT,
        "entries": count,
        "head_seq": size,
        "head_hash": head_hash.hex(),
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    return manifest


def _export_docs(log: AuditLog, size: int) -> Iterator[dict[str, Any]]:
    """One document per entry; a pruned entry keeps only seq, time and its three hashes."""
    with read_connection(log.engine) as conn:
        result = conn.execution_options(yield_per=FETCH_SIZE).execute(
            chain_select().where(T.c.seq <= size)
        )
        for row in result:
            if row_pruned(row):
                yield {
                    "seq": int(row[0]),
                    "time": row[1],
                    "pruned": True,
                    "prev_hash": bytes(row[15]).hex(),
                    "entry_hash": bytes(row[16]).hex(),
                    "leaf_hash": bytes(row[17]).hex(),
                }
            else:
                yield entry_from_row(row).to_json()


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputError(f"{path}: missing or not JSON; is this a dataward audit export?") from None


def _entries(path: Path) -> Iterator[ChainRecord]:
    try:
        fh = path.open(encoding="utf-8")
    except OSError:
        raise InputError(f"{path}: missing; is this a dataward audit export?") from None
    with fh:
        for lineno, line in enumerate(fh, start=1):
            try:
                doc = json.loads(line)
                prev = bytes.fromhex(doc.pop("prev_hash"))
                h = bytes.fromhex(doc.pop("entry_hash"))
                seq = int(doc["seq"])
                pruned = doc.get("pruned") is True and set(doc) == _PRUNED_KEYS
                leaf = bytes.fromhex(doc["leaf_hash"]) if pruned else None
            except (ValueError, KeyError, TypeError, AttributeError):
                # a malformed line is a bad entry at its position
                yield lineno, None, b"", b"", None, False, None, None
                return
            if pruned:
                yield seq, None, prev, h, leaf, True, None, None
            else:
                action, ref = doc.get("action"), doc.get("subject_ref")
                yield (
                    seq,
                    canonical_bytes(doc),
                    prev,
                    h,
                    None,
                    False,
                    action if isinstance(action, str) else None,
                    ref if isinstance(ref, str) else None,
                )


def verify_offline(
    directory: Path,
    *,
    trusted_keys: Mapping[str, bytes] | None = None,
    against: tuple[Checkpoint, ...] = (),
) -> VerifyResult:
    """Verify an export: chain, tree, checkpoint signatures, head, from the files alone."""
    manifest = _load_json(directory / "manifest.json")
    if not isinstance(manifest, dict) or manifest.get("format") != EXPORT_FORMAT:
        raise InputError(f"{directory}: not a {EXPORT_FORMAT} export (manifest.json)")
    raw_keys = _load_json(directory / "keys.json")
    try:
        keys = {str(k): base64.b64decode(v, validate=True) for k, v in raw_keys.items()}
        head = (int(manifest["head_seq"]), bytes.fromhex(manifest["head_hash"]))
    except (AttributeError, binascii.Error, ValueError, KeyError, TypeError):
        raise InputError(f"{directory}: keys.json or manifest.json is malformed") from None
    if trusted_keys:
        keys.update(trusted_keys)
    cps: list[Checkpoint] = []
    cp_path = directory / "checkpoints.jsonl"
    if cp_path.exists():
        for n, line in enumerate(cp_path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    doc = json.loads(line)
                except ValueError:
                    raise InputError(f"{cp_path}:{n}: not JSON") from None
                cps.append(Checkpoint.from_json(doc, f"{cp_path}:{n}"))
    return verify_records(
        _entries(directory / "entries.jsonl"), cps, keys, head=head, trusted=against
    )
