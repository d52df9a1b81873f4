"""Crash test: a writer killed with SIGKILL at random points leaves every write either fully
present with its audit entry or absent, and the audit chain verifies. (The 10,000-write version
is ``bench/vault_bench.py --crash``.)"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from dataward.db.schema import audit_entries
from dataward.vault import Vault
from dataward.vault.schema import values

from .conftest import make_vault

WRITER = Path(__file__).with_name("crash_writer.py")


def _run_and_kill(url: str, home: Path, start: int, count: int, rng: random.Random) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), url, str(home), str(start), str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    target = rng.randint(1, count - 1)
    for seen, _line in enumerate(proc.stdout, start=1):
        if seen >= target:
            time.sleep(rng.random() * 0.01)  # land somewhere inside the next write
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.mark.slow
def test_sigkill_leaves_every_write_whole_or_absent(db_url: str, tmp_path: Path) -> None:
    vault: Vault = make_vault(db_url, tmp_path)  # migrates; the writer reuses the database
    rng = random.Random(5)
    try:
        start = 0
        for _ in range(2):
            _run_and_kill(db_url, tmp_path, start, 80, rng)
            start += 80
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
        assert stored, "the writer never committed anything"
        assert stored == audited
        result = vault.audit.verify()  # type: ignore[attr-defined]
        assert result.ok
        # every surviving write is readable (its key reached the key ring before the data)
        for sid in sorted(stored)[:20]:
            assert vault.keyring.get(sid) is not None
    finally:
        vault.close()
