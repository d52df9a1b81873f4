"""vault_bench: the vault against plain rows of the same shape, on SQLite and PostgreSQL.

One command: ``.venv/bin/python bench/vault_bench.py [--quick] [--no-pg] [--no-write]``.

* writes/s: ``Vault.store_many`` in batches of 100 (classify with the detector, policy create +
  store, AES-256-GCM, blind index, one audit entry per value checked by the detector scrubber as
  in production, one transaction per batch) against
  plain ``INSERT``s in batches of 100, one transaction per batch, on the same engine, into a
  table of the shape of ``vault_values`` (same columns, unique constraint and indexes; the value
  in clear instead of nonce + ciphertext) without encryption, policy or audit. Ratio = vault /
  plain; the two sides alternate batch by batch (the machine may be shared). (Until 2026-11-29
  the baseline was a 5-column table with one index, which made the plain side 3-4x faster than a
  table of the vault's shape, and ran after the vault side.)
* reads/s: ``Vault.use`` of one field (policy, audit entry, decrypt) against a plain ``SELECT``,
  alternating.
* destroy: wall time of ``Vault.destroy`` for a subject with 10 and with N values.
* find: ``Vault.find_subjects(email=...)`` at M subjects. The blind-index rows for the M
  subjects are bulk-loaded with the vault's own indexer (the same HMAC tokens ``store`` writes),
  since storing M subjects one by one would take longer than the measurement is worth.

The table goes between the ``vault_bench`` markers of BENCHMARKS.md.

``--crash N`` instead runs the crash check at full size: a writer (``tests/vault/
crash_writer.py``) is killed with SIGKILL at random points until N writes committed; every write
must be fully present with its audit entry or absent, and the audit chain must verify.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    insert,
    select,
    text,
)

from dataward.audit import AuditLog, detector_scrubber
from dataward.db import create_engine_for, upgrade
from dataward.detect.engine import Detector
from dataward.policy import load_policy
from dataward.vault import Actor, FileKeyStore, KeyRing, Vault
from dataward.vault.blind_index import IndexKind
from dataward.vault.schema import blind_index, subjects

ROOT = Path(__file__).resolve().parent.parent
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SERVICE = Actor("bench", "service")
SUPPORT = Actor("bench-support", "support")
DPM = Actor("bench-dpm", "dpm")

plain_meta = MetaData()
# The baseline has the shape of ``vault_values`` (same columns, types, unique constraint and
# indexes), with the value in clear instead of nonce + ciphertext; it has no subjects table,
# blind index, key ring or audit log (that is the vault's machinery being measured).
plain = Table(
    "plain_values",
    plain_meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_id", String(128), nullable=False),
    Column("field", String(200), nullable=False),
    Column("category", String(100), nullable=False),
    Column("data_class", String(16), nullable=False),
    Column("protection", String(16), nullable=False),
    Column("value", LargeBinary, nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("stored_at", DateTime(), nullable=False),
    Column("archive_due", DateTime(), nullable=True),
    Column("destroy_due", DateTime(), nullable=True),
    UniqueConstraint("subject_id", "field", name="uq_plain_values_subject_field"),
    Index("ix_plain_values_archive_due", "state", "archive_due"),
    Index("ix_plain_values_destroy_due", "state", "destroy_due"),
    Index("ix_plain_values_subject_category", "subject_id", "category"),
)


def make_vault(url: str, home: Path) -> Vault:
    engine = create_engine_for(url)
    upgrade(engine)
    policy = load_policy()
    keyring = KeyRing(
        create_engine_for(f"sqlite:///{home / 'keyring.db'}"), FileKeyStore(home / "keys")
    )
    detector = Detector.default()
    # the audit log as open_vault wires it in production: the policy's taxonomy and the
    # detector as scrubber of every entry (until 2026-11-29 the bench ran without the scrubber)
    audit = AuditLog(engine, taxonomy=policy.taxonomy, scrubber=detector_scrubber(detector))
    return Vault(engine, policy, keyring, audit, detector)


def _pg_schema_url() -> tuple[str, Engine, str]:
    admin = create_engine_for(PG_URL, isolation_level="AUTOCOMMIT")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    return f"{PG_URL}?options=-csearch_path%3D{schema}", admin, schema


def _rows(n: int, prefix: str) -> list[tuple[str, str, str, str | None]]:
    return [
        (f"{prefix}-{i // 4}", f"f{i % 4}", f"user{i}.{prefix}@example.com", "contact.email")
        for i in range(n)
    ]


def bench_writes(vault: Vault, n: int) -> tuple[float, float]:
    """(vault writes/s, plain writes/s), batches of 100. The two sides alternate batch by batch,
    so a change in the machine's load during the run weighs on both alike."""
    plain_meta.create_all(vault.engine)
    items = _rows(n, "w")
    v_time = p_time = 0.0
    for i in range(0, n, 100):
        batch = items[i : i + 100]
        t0 = time.perf_counter()
        vault.store_many(batch, purpose="contract", actor=SERVICE)
        t1 = time.perf_counter()
        now = datetime.now(UTC).replace(tzinfo=None)
        with vault.engine.begin() as conn:
            conn.execute(
                insert(plain),
                [
                    {"subject_id": s, "field": f, "category": c or "contact.email",
                     "data_class": "low", "protection": "plain", "value": val.encode(),
                     "version": 1, "state": "active", "purpose": "contract",
                     "policy_version": "1", "stored_at": now, "archive_due": now,
                     "destroy_due": now}
                    for s, f, val, c in batch
                ],
            )  # fmt: skip
        t2 = time.perf_counter()
        v_time += t1 - t0
        p_time += t2 - t1
    return n / v_time, n / p_time


def bench_reads(vault: Vault, n: int) -> tuple[float, float]:
    """(vault reads/s, plain reads/s) of one field; the two sides alternate read by read."""
    keys = [(f"w-{i // 4}", f"f{i % 4}") for i in range(n)]
    v_time = p_time = 0.0
    for sid, f in keys:
        t0 = time.perf_counter()
        vault.use(sid, [f], purpose="support", actor=SUPPORT)
        t1 = time.perf_counter()
        with vault.engine.begin() as conn:
            conn.execute(
                select(plain.c.value).where(plain.c.subject_id == sid, plain.c.field == f)
            ).all()
        t2 = time.perf_counter()
        v_time += t1 - t0
        p_time += t2 - t1
    return n / v_time, n / p_time


def bench_destroy(vault: Vault, size: int) -> float:
    """Milliseconds to destroy a subject holding ``size`` values."""
    sid = f"big-{size}"
    items: list[tuple[str, str, str, str | None]] = [
        (sid, f"n{i}", f"Value number {i}", "person.name") for i in range(size)
    ]
    for i in range(0, size, 1000):
        vault.store_many(items[i : i + 1000], purpose="contract", actor=SERVICE)
    t0 = time.perf_counter()
    vault.destroy(sid, actor=DPM)
    return (time.perf_counter() - t0) * 1000


def bench_find(vault: Vault, m: int, probes: int = 200) -> float:
    """Median milliseconds of find_subjects(email=) with m subjects indexed."""
    now = datetime.now(UTC).replace(tzinfo=None)
    ix = vault.indexer
    chunk = 20_000
    for start in range(0, m, chunk):
        ids = range(start, min(m, start + chunk))
        with vault.engine.begin() as conn:
            conn.execute(
                insert(subjects), [{"subject_id": f"m-{i}", "created_at": now} for i in ids]
            )
            conn.execute(
                insert(blind_index),
                [
                    {
                        "kind": IndexKind.EMAIL.value,
                        "token": ix.token(IndexKind.EMAIL, f"member{i}@example.net"),
                        "subject_id": f"m-{i}",
                        "field": "email",
                    }
                    for i in ids
                ],
            )
    times = []
    step = max(1, m // probes)
    for i in range(0, m, step):
        t0 = time.perf_counter()
        found = vault.find_subjects(email=f"Member{i}@Example.net", actor=DPM)
        times.append((time.perf_counter() - t0) * 1000)
        assert found == [f"m-{i}"], found
    return statistics.median(times)


def run_backend(name: str, url: str, home: Path, args: argparse.Namespace) -> dict[str, float]:
    vault = make_vault(url, home)
    try:
        out: dict[str, float] = {}
        out["vault_w"], out["plain_w"] = bench_writes(vault, args.writes)
        out["vault_r"], out["plain_r"] = bench_reads(vault, args.reads)
        out["destroy_10"] = bench_destroy(vault, 10)
        out["destroy_big"] = bench_destroy(vault, args.destroy_size)
        out["find"] = bench_find(vault, args.subjects)
        print(name, {k: round(v, 2) for k, v in out.items()}, file=sys.stderr, flush=True)
        return out
    finally:
        vault.close()


def crash_check(total: int, seed: int = 7) -> str:
    """Kill a writer at random points until ``total`` writes committed; check every write."""
    import random
    import signal
    import subprocess

    from dataward.db.schema import audit_entries
    from dataward.vault.schema import values

    writer = ROOT / "tests" / "vault" / "crash_writer.py"
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="vault-crash-") as tmp:
        home = Path(tmp)
        url = f"sqlite:///{home / 'v.db'}"
        vault = make_vault(url, home)
        start, kills = 0, 0
        while start < total:
            count = min(2000, total - start)
            proc = subprocess.Popen(
                [sys.executable, str(writer), url, str(home), str(start), str(count)],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
            assert proc.stdout is not None
            target = rng.randint(count // 2, count)
            last = start - 1
            for line in proc.stdout:
                last = int(line)
                if last - start + 1 >= target:
                    time.sleep(rng.random() * 0.005)
                    break
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            start = last + 1
        with vault.engine.connect() as conn:
            stored = {r.subject_id for r in conn.execute(select(values.c.subject_id))}
            audited = {
                r.subject_ref
                for r in conn.execute(
                    select(audit_entries.c.subject_ref).where(
                        audit_entries.c.action == "store", audit_entries.c.outcome == "ok"
                    )
                )
            }
        whole = stored == audited
        verified = vault.audit.verify().ok  # type: ignore[attr-defined]
        vault.close()
    return (
        f"crash check: {kills} SIGKILLs, {len(stored)} writes committed of {total} attempted "
        f"positions; every write whole-or-absent: {'OK' if whole else 'FAILED'}; "
        f"audit verify: {'OK' if verified else 'FAILED'}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--crash", type=int, metavar="N", help="run the crash check with N writes")
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    ap.add_argument("--no-pg", action="store_true", help="SQLite only")
    ap.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    args = ap.parse_args()
    if args.crash:
        print(crash_check(args.crash))
        return
    args.writes = 2_000 if args.quick else 10_000
    args.reads = 500 if args.quick else 2_000
    args.destroy_size = 10_000 if args.quick else 100_000
    args.subjects = 50_000 if args.quick else 1_000_000
    Detector.default()  # build once, outside every timing
    args.load = [os.getloadavg()[0]]
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="vault-bench-") as tmp:
        home = Path(tmp)
        (home / "sqlite").mkdir()
        results["SQLite"] = run_backend(
            "SQLite", f"sqlite:///{home / 'sqlite' / 'v.db'}", home / "sqlite", args
        )
        if not args.no_pg:
            url, admin, schema = _pg_schema_url()
            (home / "pg").mkdir()
            try:
                results["PostgreSQL"] = run_backend("PostgreSQL", url, home / "pg", args)
            finally:
                with admin.connect() as c:
                    c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                admin.dispose()
    args.load.append(os.getloadavg()[0])
    table = render(results, args)
    print(table)
    if not args.no_write:
        write_section(table)


def render(results: dict[str, dict[str, float]], args: argparse.Namespace) -> str:
    cmd = "python bench/vault_bench.py" + (" --quick" if args.quick else "")
    load = " / ".join(f"{x:.1f}" for x in args.load)
    lines = [
        f"`{cmd}` — {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; load average (1 min) at start / end: {load} (a shared "
        f"machine: wall-clock rates drop with the load). {args.writes} writes (batches of 100), "
        f"{args.reads} reads, destroy of 10 and {args.destroy_size} values, find among "
        f"{args.subjects} subjects. Plain writes: rows of the shape of `vault_values` (same "
        "columns, unique constraint and indexes, value in clear), same engine, batch and "
        "transaction size, no encryption, policy, blind index or audit; vault and plain "
        "batches alternate.",
        "",
        "| backend | vault writes/s | plain writes/s | ratio (target >= 0.5) | vault reads/s "
        "| plain reads/s | ratio | destroy 10 values (ms) | destroy "
        f"{args.destroy_size} values (ms) (target < 50) | find by e-mail, median ms "
        "(target < 5) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['vault_w']:.0f} | {r['plain_w']:.0f} | "
            f"{r['vault_w'] / r['plain_w']:.2f} | {r['vault_r']:.0f} | {r['plain_r']:.0f} | "
            f"{r['vault_r'] / r['plain_r']:.2f} | {r['destroy_10']:.1f} | "
            f"{r['destroy_big']:.1f} | {r['find']:.2f} |"
        )
    return "\n".join(lines)


def write_section(table: str) -> None:
    md = ROOT / "BENCHMARKS.md"
    start, end = "<!-- vault_bench:start -->", "<!-- vault_bench:end -->"
    doc = md.read_text(encoding="utf-8")
    if start not in doc or end not in doc:
        doc = doc.rstrip("\n") + f"\n\n{start}\n{end}\n"
    head, rest = doc.split(start, 1)
    _, tail = rest.split(end, 1)
    md.write_text(f"{head}{start}\n{table}\n{end}{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()
