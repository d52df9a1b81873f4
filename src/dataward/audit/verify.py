"""One pass over the log: chain, leaves, tree roots at every checkpoint, signatures, head.

The same verifier runs on the database and on an export. It stops at the first bad entry and
names it; it never prints entry content.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from dataward.audit.checkpoint import Checkpoint
from dataward.audit.merkle import EMPTY_ROOT, CompactRange
from dataward.errors import AuditIntegrityError

__all__ = ["PRUNE_REF", "ChainRecord", "VerifyResult", "prune_claim", "verify_records"]

_sha256 = hashlib.sha256
GENESIS = bytes(32)

#: (seq, canonical bytes or None if the stored content is malformed or pruned, prev, entry, leaf,
#: pruned, action, subject ref): a pruned entry keeps its seq, time and hashes but not its content
#: (retention); a kept ``prune`` entry names the range it pruned in its subject ref
ChainRecord = tuple[int, bytes | None, bytes, bytes, bytes | None, bool, str | None, str | None]

PRUNE_REF = re.compile(r"audit-seq:(\d+)-(\d+)")


def prune_claim(subject_ref: object) -> int:
    """The last seq a ``prune`` entry's subject ref says it pruned (0 if not a prune range)."""
    m = PRUNE_REF.fullmatch(subject_ref) if isinstance(subject_ref, str) else None
    return int(m.group(2)) if m else 0


def _record_pruned(r: Sequence[Any]) -> bool:
    return bool(r[5])


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What verification found. ``first_bad_seq`` is the first entry that does not check out."""

    ok: bool
    entries: int
    checkpoints: int
    root: bytes
    first_bad_seq: int | None = None
    reason: str | None = None
    checked_sizes: tuple[int, ...] = field(default=())

    def raise_for_failure(self) -> None:
        if not self.ok:
            where = f"entry {self.first_bad_seq}: " if self.first_bad_seq is not None else ""
            raise AuditIntegrityError(
                f"audit log verification failed at {where}{self.reason}", seq=self.first_bad_seq
            )


def verify_records(
    records: Iterable[Sequence[Any]],
    checkpoints: Sequence[Checkpoint],
    public_keys: Mapping[str, bytes],
    *,
    head: tuple[int, bytes] | None = None,
    trusted: Sequence[Checkpoint] = (),
    trust_until: int = 0,
    canonical: Callable[[Any], bytes | None] | None = None,
    columns: tuple[int, int, int] = (2, 3, 4),
    pruned: Callable[[Any], bool] | None = None,
    action_columns: tuple[int, int] = (6, 7),
) -> VerifyResult:
    """Check ``records`` (in seq order) against ``checkpoints`` signed by ``public_keys``.

    ``trusted`` are checkpoints held outside the log (an auditor's copy): their roots must match
    as well. ``head`` is the stored (seq, hash) of the last entry. Entries up to
    ``trust_until`` keep their stored hashes (they must still give the checkpoint roots).

    ``records`` are :data:`ChainRecord` tuples, or, with ``canonical``, raw rows whose first
    item is the seq, whose canonical bytes ``canonical(row)`` gives, and whose stored prev,
    entry and leaf hashes sit at ``columns`` (no per-row tuple on the hot path).

    Pruned entries (``pruned(row)`` true; their content removed by retention) must form a prefix
    of the log covered by a signed checkpoint: their stored hashes must link (prev hash) and give
    the checkpoint root, only their content is not re-hashed; and a kept ``prune`` entry (at
    ``action_columns``: action, subject ref) must have recorded pruning that far. A kept entry
    whose content was removed outside that prefix, or any changed hash, still fails.
    """
    ia, isub = action_columns
    claimed = 0
    is_pruned: Callable[[Any], bool] = pruned or _record_pruned
    pruned_upto = 0
    canon_of: Callable[[Any], bytes | None] = canonical or itemgetter(1)
    ip, ih, il = columns
    all_cps = list(checkpoints) + list(trusted)
    for cp in all_cps:
        pub = public_keys.get(cp.key_id)
        if pub is None:
            return _bad(
                0,
                0,
                None,
                f"checkpoint of size {cp.tree_size} is signed by unknown key {cp.key_id}",
            )
        if not cp.signature_valid(pub):
            return _bad(0, 0, None, f"checkpoint of size {cp.tree_size} has a bad signature")
    by_size: dict[int, list[Checkpoint]] = {}
    for cp in all_cps:
        by_size.setdefault(cp.tree_size, []).append(cp)
    sizes = set(by_size)
    rng = CompactRange()
    prev = GENESIS
    expected = 1
    sha = _sha256
    for r in records:
        seq = r[0]
        if seq != expected:
            return _bad(expected, expected - 1, rng, f"entry {expected} is missing (next is {seq})")
        if r[ip] != prev:
            return _bad(seq, seq - 1, rng, "previous-hash link is broken")
        stored_hash, stored_leaf = r[ih], r[il]
        if seq <= trust_until and stored_leaf is not None:
            h, leaf = stored_hash, stored_leaf
        else:
            canon = canon_of(r)
            if canon is None:
                if not is_pruned(r) or stored_leaf is None:
                    return _bad(seq, seq - 1, rng, "stored fields are malformed")
                # the pruned prefix continues (or starts after the trusted entries)
                if pruned_upto != seq - 1 and not (pruned_upto == 0 and seq - 1 <= trust_until):
                    return _bad(
                        seq, seq - 1, rng, "entry content removed outside the pruned prefix"
                    )
                # a pruned entry links by its stored hashes, checked like any other below
                pruned_upto = seq
                h, leaf = stored_hash, stored_leaf
            else:
                h = sha(prev + canon).digest()
                if h != stored_hash:
                    return _bad(seq, seq - 1, rng, "entry hash does not match its content")
                leaf = sha(b"\x00" + canon).digest()
                if stored_leaf is not None and leaf != stored_leaf:
                    return _bad(seq, seq - 1, rng, "leaf hash does not match its content")
                if r[ia] == "prune":  # content verified above: the recorded range is authentic
                    claimed = max(claimed, prune_claim(r[isub]))
        rng.push(leaf)
        prev = h
        expected += 1
        if seq in sizes:
            root = rng.root()
            for cp in by_size[seq]:
                if cp.root_hash != root:
                    return _bad(
                        seq, seq, rng, f"tree root at size {seq} differs from the signed checkpoint"
                    )
    count = expected - 1
    if pruned_upto > claimed:
        return _bad(
            claimed + 1,
            count,
            rng,
            f"entries up to {pruned_upto} have no content but no prune entry records pruning "
            f"beyond {claimed}",
        )
    if pruned_upto and not any(s >= pruned_upto for s in sizes):
        return _bad(
            pruned_upto,
            count,
            rng,
            f"entries 1..{pruned_upto} are pruned but no signed checkpoint covers them",
        )
    for cp in by_size.get(0, ()):
        if cp.root_hash != EMPTY_ROOT:
            return _bad(0, count, rng, "a signed checkpoint of the empty log has a wrong root")
    for size in sorted(sizes):
        if size > count:
            return _bad(
                count + 1,
                count,
                rng,
                f"log truncated: a signed checkpoint covers {size} entries, the log has {count}",
            )
    if head is not None:
        head_seq, head_hash = head
        if head_seq != count:
            return _bad(
                min(head_seq, count) + 1,
                count,
                rng,
                f"log truncated or extended: head says {head_seq} entries, found {count}",
            )
        if head_hash != prev:
            return _bad(count, count, rng, "head hash does not match the last entry")
    return VerifyResult(
        ok=True,
        entries=count,
        checkpoints=len(all_cps),
        root=rng.root(),
        checked_sizes=tuple(sorted(sizes)),
    )


def _bad(seq: int, entries: int, rng: CompactRange | None, reason: str) -> VerifyResult:
    return VerifyResult(
        ok=False,
        entries=entries,
        checkpoints=0,
        root=rng.root() if rng is not None else b"",
        first_bad_seq=seq if seq > 0 else None,
        reason=reason,
    )
