"""`dataward detect` / `dataward redact`, including the JSON Lines contract of outside harnesses."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from dataward.cli.common import run_guarded
from dataward.cli.main import app
from dataward.detect import Detector


def _run(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    stdin: bytes = b"",
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    code = run_guarded(app, argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, full: Detector) -> None:
    monkeypatch.setenv("DATAWARD_HOME", str(tmp_path / "home"))


def test_jsonl_contract(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        {"id": "a1", "text": "mail me: jean.dupont@example.ch"},
        {"id": "b2", "text": "nothing to see"},
        {"id": "c3", "text": "Grüße — IBAN CH93 0076 2011 6238 5295 7"},
    ]
    stdin = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines).encode() + b"\n"
    code, out, err = _run(monkeypatch, capsys, ["detect", "--jsonl"], stdin)
    assert code == 0, err
    rows = [json.loads(x) for x in out.splitlines()]
    assert [r["id"] for r in rows] == ["a1", "b2", "c3"]
    (email,) = rows[0]["findings"]
    assert email == {
        "start": 9, "end": 31, "category": "contact.email", "class": "low",
        "score": 0.95, "detector": "email",
    }  # fmt: skip
    assert rows[1]["findings"] == []
    (iban,) = rows[2]["findings"]
    assert lines[2]["text"][iban["start"] : iban["end"]] == "CH93 0076 2011 6238 5295 7"


def test_jsonl_bad_line_named_never_echoed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = b'{"id": 1, "text": "x@example.com"}\n{"id": 2, "text": "secret-value@x.com\n[1,2]\n'
    code, out, err = _run(monkeypatch, capsys, ["detect", "--jsonl"], stdin)
    assert code == 65
    assert "line 2" in err and "line 3" in err
    assert "secret-value" not in err
    assert len(out.splitlines()) == 1


def test_jsonl_from_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "z", "text": "ip 203.0.113.7"}\n', encoding="utf-8")
    code, out, _ = _run(monkeypatch, capsys, ["detect", "--jsonl", str(path)])
    assert code == 0
    assert json.loads(out)["findings"][0]["category"] == "traffic.ip_address"


def test_plain_text_detect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("call +41 44 668 18 00\npassword=hunter2x\n", encoding="utf-8")
    code, out, _ = _run(monkeypatch, capsys, ["detect", str(path)])
    assert code == 0
    assert "contact.phone" in out and "secret.password" in out
    assert "hunter2x" not in out


def test_binary_file_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(b"\x7fELF\x00\x01\x02" * 100)
    code, _, err = _run(monkeypatch, capsys, ["detect", str(path)])
    assert code == 65 and "binary" in err


def test_redact(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    stdin = b"card 4111 1111 1111 1111 and a.b@example.com\n"
    code, out, _ = _run(monkeypatch, capsys, ["redact", "-o", "mask"], stdin)
    assert code == 0
    assert out == "card **** **** **** 1111 and *.*@*******.***\n"
    code, out, _ = _run(monkeypatch, capsys, ["redact"], stdin)
    assert out == "card <card.pan> and <contact.email>\n"
