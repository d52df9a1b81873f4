"""`dataward audit ...` end to end through the root command (embedded SQLite in --home)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from audit_factories import make_fields  # type: ignore[import-not-found]
from sqlalchemy import update

from dataward.audit import AuditLog
from dataward.cli.common import run_guarded
from dataward.cli.main import app
from dataward.db import create_engine_for
from dataward.db.schema import audit_entries
from dataward.errors import AuditIntegrityError


def _run(home: Path, *args: str) -> int:
    return run_guarded(app, ["--home", str(home), "audit", *args])


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("DATAWARD_DATABASE_URL", "DATAWARD_AUDIT_KEY_FILE", "DATAWARD_AUDIT_SIGNING_KEY"):
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    assert _run(home, "checkpoint") == 0  # first use: creates the database and the key
    engine = create_engine_for(f"sqlite:///{home / 'dataward.db'}")
    AuditLog(engine).append_many(make_fields(i) for i in range(10))
    engine.dispose()
    return home


def test_verify_ok_then_tampered(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(home, "verify") == 0
    assert "audit log OK: 10 entries" in capsys.readouterr().out
    engine = create_engine_for(f"sqlite:///{home / 'dataward.db'}")
    with engine.begin() as conn:
        conn.execute(update(audit_entries).where(audit_entries.c.seq == 4).values(actor_id="x"))
    engine.dispose()
    assert _run(home, "verify") == AuditIntegrityError.exit_code
    err = capsys.readouterr().err
    assert "entry 4" in err


def test_show_filters_and_jsonl(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert _run(home, "show", "--subject", "subj-1", "--format", "jsonl") == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [d["seq"] for d in lines] == [2, 7]
    assert all(d["subject_ref"] == "subj-1" and "entry_hash" in d for d in lines)
    args = ("show", "--category", "billing.iban", "--action", "create", "--format", "jsonl")
    assert _run(home, *args) == 0
    docs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [d["seq"] for d in docs] == [1, 5, 9]
    assert _run(home, "show", "--since", "2000-01-01T00:00Z", "--limit", "2") == 0
    assert "seq" in capsys.readouterr().out
    assert _run(home, "show", "--since", "not-a-time") != 0


def test_checkpoint_prove_against(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    held = tmp_path / "cp.json"
    assert _run(home, "checkpoint", "--out", str(held)) == 0
    engine = create_engine_for(f"sqlite:///{home / 'dataward.db'}")
    AuditLog(engine).append_many(make_fields(i) for i in range(5))
    engine.dispose()
    capsys.readouterr()
    assert _run(home, "prove", "3", "--against", str(held)) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["inclusion"]["valid"] and doc["inclusion"]["tree_size"] == 15
    assert doc["consistency"]["valid"] and doc["consistency"]["first"] == 10
    assert _run(home, "verify", "--against", str(held)) == 0


def test_export_and_offline_verify(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "export"
    assert _run(home, "export", str(out)) == 0
    assert _run(home, "verify", "--offline", str(out)) == 0
    assert "10 entries" in capsys.readouterr().out
    lines = (out / "entries.jsonl").read_text().splitlines()
    (out / "entries.jsonl").write_text("\n".join(lines[:3] + lines[4:]) + "\n")
    assert _run(home, "verify", "--offline", str(out)) == AuditIntegrityError.exit_code


def test_keys_rotate(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(home, "keys", "rotate") == 0
    assert "new key" in capsys.readouterr().out
    assert _run(home, "verify") == 0
    assert "2 checkpoint(s)" in capsys.readouterr().out
