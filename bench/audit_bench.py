"""Audit log benchmark: chained appends vs raw inserts of the same rows, and verify time.

    .venv/bin/python bench/audit_bench.py            # SQLite and PostgreSQL, verify 1,000,000
    .venv/bin/python bench/audit_bench.py --quick    # smaller counts, verify 100,000

Writes its table between the audit_bench markers of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Column, Engine, Index, MetaData, Table, create_engine, insert, text

from dataward.audit import AuditLog, build_entry
from dataward.audit.rows import entry_to_row
from dataward.db import create_engine_for, upgrade
from dataward.db.schema import audit_entries

ROOT = Path(__file__).resolve().parent.parent
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def fields(i: int) -> dict[str, Any]:
    return {
        "actor_id": f"svc-{i % 7}",
        "actor_role": "service",
        "action": ("create", "store", "use", "share")[i % 4],
        "subject_ref": f"subj-{i % 1000}",
        "categories": ["contact.email", "person.name"] if i % 2 else ["billing.iban"],
        "decision": {"allowed": True, "rule_id": f"rule-{i % 9}", "policy_version": "2026.1"},
        "purpose": "contract",
        "recipient": "processor-acme" if i % 4 == 3 else None,
        "request_id": f"req-{i}",
    }


@contextmanager
def database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as d:
            yield f"sqlite:///{Path(d) / 'bench.db'}"
        return
    admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def rate(n_entries: int, fn: Callable[[], None]) -> float:
    t = time.perf_counter()
    fn()
    return n_entries / (time.perf_counter() - t)


def append_rates(engine: Engine, txns: int, per_txn: int) -> tuple[float, float]:
    """(chained entries/s, raw entries/s) for ``txns`` transactions of ``per_txn`` entries."""
    raw_md = MetaData()
    raw = Table(
        "bench_raw_entries",
        raw_md,
        *[
            Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
            for c in audit_entries.c
        ],
    )
    for ix in audit_entries.indexes:  # the same indexes, so both sides pay the same upkeep
        Index(f"bench_{ix.name}", *[raw.c[c.name] for c in ix.columns])
    raw_md.create_all(engine)
    log = AuditLog(engine)
    batches = [[fields(t * per_txn + j) for j in range(per_txn)] for t in range(txns)]
    zero = bytes(32)

    def raw_rows(batch: list[dict[str, Any]], base: int) -> list[dict[str, Any]]:
        # the same rows, validated the same way, but no head lock and no hashing
        out = []
        for j, f in enumerate(batch):
            row = entry_to_row(build_entry(f, seq=base + j), zero)
            row["prev_hash"] = row["entry_hash"] = zero
            out.append(row)
        return out

    raw_insert = insert(raw)  # built once, as the log does

    def run_raw() -> None:
        for t, batch in enumerate(batches):
            with engine.begin() as conn:
                conn.execute(raw_insert, raw_rows(batch, t * per_txn + 1))

    def run_chained() -> None:
        for batch in batches:
            log.append_many(batch)

    n = txns * per_txn
    raw_rate = rate(n, run_raw)
    chained_rate = rate(n, run_chained)
    raw_md.drop_all(engine)
    return chained_rate, raw_rate


def verify_time(engine: Engine, n: int) -> tuple[float, float, float, bool]:
    """(seconds to fill, to verify in one pass, to verify split over cores, ok) for ``n``."""
    log = AuditLog(engine, signing_key=Ed25519PrivateKey.generate())
    start = log.head()[0]
    t = time.perf_counter()
    batch = 20_000
    for b in range(start, n, batch):
        log.append_many(fields(i) for i in range(b, min(n, b + batch)))
    fill = time.perf_counter() - t
    log.checkpoint()
    t = time.perf_counter()
    single = log.verify(workers=1)
    one = time.perf_counter() - t
    t = time.perf_counter()
    split = log.verify(parallel_min=0)  # seq ranges in worker processes + one leaf pass
    many = time.perf_counter() - t
    ok = single.ok and split.ok and single.entries == split.entries == n
    return fill, one, many, ok and single.root == split.root


def write_section(markdown: str) -> None:
    path = ROOT / "BENCHMARKS.md"
    doc = path.read_text(encoding="utf-8")
    start, end = "<!-- audit_bench:start -->", "<!-- audit_bench:end -->"
    if start not in doc or end not in doc:
        doc = doc.rstrip("\n") + f"\n\n{start}\n{end}\n"
    head, rest = doc.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{markdown}{end}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small counts (verify 100,000)")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--verify-n", type=int, default=None)
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args(argv)
    verify_n = args.verify_n or (100_000 if args.quick else 1_000_000)
    single = 300 if args.quick else 1_000
    hundred = 20 if args.quick else 60
    rows: list[str] = []
    verify_rows: list[str] = []
    for backend in args.backends.split(","):
        with database(backend) as url:
            upgrade(url)
            engine = create_engine_for(url)
            for txns, per in ((single, 1), (hundred, 100)):
                chained, raw = append_rates(engine, txns, per)
                ratio = chained / raw
                rows.append(
                    f"| {backend} | {per} | {txns * per:,} | {chained:,.0f} | {raw:,.0f} | "
                    f"{ratio:.2f} | {'yes' if ratio >= 0.5 else 'NO'} |"
                )
                print(rows[-1], flush=True)
            if backend == "sqlite" or args.quick:
                with database(backend) as vurl:
                    upgrade(vurl)
                    veng = create_engine_for(vurl)
                    fill, one, secs, ok = verify_time(veng, verify_n)
                    veng.dispose()
                verify_rows.append(
                    f"| {backend} | {verify_n:,} | {fill:.1f} | {one:.2f} | {secs:.2f} | "
                    f"{one / secs:.2f} | {verify_n / secs:,.0f} | {'ok' if ok else 'FAILED'} | "
                    f"{'yes' if secs < 10 * verify_n / 1_000_000 else 'NO'} |"
                )
                print(verify_rows[-1], flush=True)
            engine.dispose()
    cmd = "python bench/audit_bench.py" + (" --quick" if args.quick else "")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    md = (
        f"Command: `{cmd}` (one run, same machine, side by side; load average at the end "
        f"{load} on 2 cores).\n\n"
        "Appends: chained = `AuditLog.append_many` (validate, lock the head row, hash chain, "
        "leaf hash, insert, move the head); raw = the same validated rows inserted into a table "
        "of the same shape, no lock, no hashing. Target: ratio >= 0.50.\n\n"
        "| backend | entries per transaction | entries | chained entries/s | raw entries/s "
        "| ratio | >= 0.50 |\n|---|---:|---:|---:|---:|---:|---|\n"
        + "\n".join(rows)
        + "\n\nVerify: recompute every entry hash and leaf, the Merkle root at each checkpoint, "
        "check the signatures and the head. Target: 1,000,000 entries in < 10 s. Single pass = "
        "`AuditLog.verify(workers=1)`; split = `AuditLog.verify()` (default for >= 200,000 "
        f"entries): the chain re-hashed in seq ranges by {os.cpu_count()} worker processes, "
        "joined at the stored prev hash of each range, plus one pass over the stored leaf "
        "hashes for the Merkle roots; both must agree (same root).\n\n"
        "| backend | entries | fill time s (append_many, 20k batches) | single pass s | split s "
        "| speed-up | entries/s (split) | result | < 10 s per 1M |\n"
        "|---|---:|---:|---:|---:|---:|---:|---|---|\n" + "\n".join(verify_rows) + "\n"
    )
    if not args.no_write:
        write_section(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
