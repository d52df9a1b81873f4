"""Verify a large log on several cores: the chain in seq ranges, the tree in one leaf pass.

Each worker process re-hashes the entries of one seq range (content -> entry hash and leaf hash,
prev-hash links, pruned entries) and reports its boundary: the stored prev hash of its first
entry and the entry hash of its last. Meanwhile this process pushes the stored leaf hashes (each
one checked against its content by a worker) through the Merkle tree and checks every checkpoint
root. The ranges must join (each one's first prev hash is the previous one's last hash), so the
result is the same as the single pass of :func:`dataward.audit.verify.verify_records`.
"""

from __future__ import annotations

import hashlib
import multiprocessing
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import chain

from sqlalchemy import Engine, select
from sqlalchemy.pool import StaticPool

from dataward.audit.checkpoint import Checkpoint
from dataward.audit.merkle import EMPTY_ROOT, CompactRange
from dataward.audit.rows import chain_select, row_canonical, row_pruned
from dataward.audit.verify import GENESIS, VerifyResult, prune_claim
from dataward.db.engine import create_engine_for, is_sqlite, read_connection
from dataward.db.schema import audit_entries as T  # noqa: N812 - short table alias

__all__ = ["PARALLEL_MIN_ENTRIES", "can_split", "verify_split"]

#: Below this many entries one pass is faster than starting workers.
PARALLEL_MIN_ENTRIES = 200_000
_FETCH = 50_000


@dataclass(frozen=True, slots=True)
class _Range:
    lo: int
    count: int
    first_prev: bytes | None
    last_hash: bytes | None
    pruned_from: int  # first pruned seq of the range (0: none)
    pruned_to: int  # last pruned seq; pruned entries of a range are contiguous from pruned_from
    claimed: int
    bad_seq: int = 0
    reason: str = ""


def can_split(engine: Engine) -> bool:
    """Workers open their own connections: not possible for a private in-memory database."""
    return not isinstance(engine.pool, StaticPool)


def _scan(url: str, lo: int, hi: int | None, trust_until: int) -> _Range:
    """Check entries lo..hi (no hi: to the end): chain links, content hashes, leaves, pruning."""
    engine = create_engine_for(url)
    sha = hashlib.sha256
    try:
        stmt = chain_select().where(T.c.seq >= lo)
        if hi is not None:
            stmt = stmt.where(T.c.seq <= hi)
        sql = str(stmt.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
        with read_connection(engine) as conn:
            conn.exec_driver_sql("SELECT 1")
            dbapi = conn.connection.dbapi_connection
            assert dbapi is not None
            cur = dbapi.cursor() if is_sqlite(engine) else dbapi.cursor(name="audit_range")
            try:
                cur.execute(sql)
                rows = chain.from_iterable(iter(lambda: cur.fetchmany(_FETCH), []))
                expected, prev, first_prev = lo, b"", None
                p_from = p_to = claimed = 0
                kept = False

                def out(bad: int = 0, reason: str = "") -> _Range:
                    return _Range(
                        lo,
                        expected - lo,
                        first_prev,
                        prev or None,
                        p_from,
                        p_to,
                        claimed,
                        bad,
                        reason,
                    )

                for r in rows:
                    seq = r[0]
                    if seq != expected:
                        return out(expected, f"entry {expected} is missing (next is {seq})")
                    stored_prev, h, leaf = bytes(r[15]), bytes(r[16]), bytes(r[17])
                    if first_prev is None:
                        first_prev = stored_prev
                    elif stored_prev != prev:
                        return out(seq, "previous-hash link is broken")
                    if seq > trust_until:  # trusted entries keep their stored hashes
                        canon = row_canonical(r)
                        if canon is None:
                            if not row_pruned(r):
                                return out(seq, "stored fields are malformed")
                            if kept:
                                return out(seq, "entry content removed outside the pruned prefix")
                            p_from = p_from or seq
                            p_to = seq
                        else:
                            kept = True
                            if sha(stored_prev + canon).digest() != h:
                                return out(seq, "entry hash does not match its content")
                            if sha(b"\x00" + canon).digest() != leaf:
                                return out(seq, "leaf hash does not match its content")
                            if r[4] == "prune":
                                claimed = max(claimed, prune_claim(r[5]))
                    prev = h
                    expected += 1
                return out()
            finally:
                cur.close()
    finally:
        engine.dispose()


def verify_split(
    engine: Engine,
    checkpoints: Sequence[Checkpoint],
    public_keys: Mapping[str, bytes],
    *,
    head: tuple[int, bytes],
    trusted: Sequence[Checkpoint] = (),
    trust_until: int = 0,
    workers: int = 2,
) -> VerifyResult:
    """The same checks as the single pass, the chain split over ``workers`` processes."""
    all_cps = list(checkpoints) + list(trusted)
    for cp in all_cps:
        pub = public_keys.get(cp.key_id)
        if pub is None:
            return _bad(
                0, 0, f"checkpoint of size {cp.tree_size} is signed by unknown key {cp.key_id}"
            )
        if not cp.signature_valid(pub):
            return _bad(0, 0, f"checkpoint of size {cp.tree_size} has a bad signature")
    by_size: dict[int, list[Checkpoint]] = {}
    for cp in all_cps:
        by_size.setdefault(cp.tree_size, []).append(cp)
    sizes = set(by_size)
    head_seq, head_hash = head
    last = max([head_seq, *sizes])
    step = -(-max(last, 1) // workers)
    starts = list(range(1, last + 1, step)) or [1]
    bounds = [(lo, lo + step - 1 if lo + step <= last else None) for lo in starts]
    url = engine.url.render_as_string(hide_password=False)
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=len(bounds) or 1, mp_context=ctx) as pool:
        futures = [pool.submit(_scan, url, lo, hi, trust_until) for lo, hi in bounds]
        tree = _tree_pass(engine, by_size)
        ranges = [f.result() for f in futures]
    # join the ranges in order; the first problem (lowest seq) wins, as in the single pass
    problems: list[tuple[int, int, str]] = []  # (seq, entries before it, reason)
    prev, count, p_upto, claimed = GENESIS, 0, 0, 0
    for rg in ranges:
        if rg.count and rg.first_prev != prev and count == rg.lo - 1:
            problems.append((rg.lo, rg.lo - 1, "previous-hash link is broken"))
        if rg.pruned_from:
            if rg.pruned_from != p_upto + 1 and not (
                p_upto == 0 and rg.pruned_from - 1 <= trust_until
            ):
                problems.append(
                    (
                        rg.pruned_from,
                        rg.pruned_from - 1,
                        "entry content removed outside the pruned prefix",
                    )
                )
            p_upto = rg.pruned_to
        if rg.bad_seq:
            problems.append((rg.bad_seq, rg.bad_seq - 1, rg.reason))
        if count == rg.lo - 1:
            count += rg.count
        if rg.last_hash is not None:
            prev = rg.last_hash
        claimed = max(claimed, rg.claimed)
    problems.extend(tree.problems)
    if problems:
        seq, entries, reason = min(problems)
        return _bad(seq, entries, reason)
    if p_upto > claimed:
        return _bad(
            claimed + 1,
            count,
            f"entries up to {p_upto} have no content but no prune entry records pruning "
            f"beyond {claimed}",
        )
    if p_upto and not any(s >= p_upto for s in sizes):
        return _bad(
            p_upto, count, f"entries 1..{p_upto} are pruned but no signed checkpoint covers them"
        )
    for cp in by_size.get(0, ()):
        if cp.root_hash != EMPTY_ROOT:
            return _bad(0, count, "a signed checkpoint of the empty log has a wrong root")
    for size in sorted(sizes):
        if size > count:
            return _bad(
                count + 1,
                count,
                f"log truncated: a signed checkpoint covers {size} entries, the log has {count}",
            )
    if head_seq != count:
        return _bad(
            min(head_seq, count) + 1,
            count,
            f"log truncated or extended: head says {head_seq} entries, found {count}",
        )
    if head_hash != prev:
        return _bad(count, count, "head hash does not match the last entry")
    return VerifyResult(
        ok=True,
        entries=count,
        checkpoints=len(all_cps),
        root=tree.root,
        checked_sizes=tuple(sorted(sizes)),
    )


@dataclass(frozen=True, slots=True)
class _Tree:
    root: bytes
    problems: list[tuple[int, int, str]]


def _tree_pass(engine: Engine, by_size: Mapping[int, list[Checkpoint]]) -> _Tree:
    """Push the stored leaf hashes in seq order; check the root at each checkpoint size."""
    rng = CompactRange()
    push = rng.push
    problems: list[tuple[int, int, str]] = []
    with read_connection(engine) as conn:
        result = conn.execution_options(yield_per=_FETCH).execute(
            select(T.c.leaf_hash).order_by(T.c.seq)
        )
        for n, (leaf,) in enumerate(result, start=1):
            push(bytes(leaf))
            if n in by_size:
                root = rng.root()
                if any(cp.root_hash != root for cp in by_size[n]):
                    problems.append(
                        (n, n, f"tree root at size {n} differs from the signed checkpoint")
                    )
                    break
    return _Tree(rng.root(), problems)


def _bad(seq: int, entries: int, reason: str) -> VerifyResult:
    return VerifyResult(
        ok=False,
        entries=entries,
        checkpoints=0,
        root=b"",
        first_bad_seq=seq if seq > 0 else None,
        reason=reason,
    )
