"""`dataward policy ...` through the real root command (dataward.cli.main.app)."""

from __future__ import annotations

import json
from datetime import timedelta
from importlib import resources
from pathlib import Path

import pytest

from dataward.cli.common import run_guarded
from dataward.cli.main import app
from dataward.policy import load_policy

FIXTURES = Path(__file__).parent.parent / "policy" / "fixtures" / "broken"
DEFAULT_TESTS = str(resources.files("dataward.policy").joinpath("default_policy_tests.yaml"))
VALID = """\
metadata:
  version: "{version}"
  effective: {effective}
  owner: "DPM <dpm@example.com>"
rules:
  - id: low-support
    class: low
    actions: [use]
    effect: allow
    roles: [support]
    purposes: [{purpose}]
    cites: "The low class comprises of: Civility."
"""


def run(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    code = run_guarded(app, ["--home", str(home), "policy", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_show_prints_the_matrix(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, tmp_path, "show")
    assert code == 0
    for word in ("forbidden", "special", "high", "medium", "low", "archive", "destroy", "deny"):
        assert word in out


@pytest.mark.parametrize(
    ("args", "allowed", "rule"),
    [
        (["--action", "store", "--category", "contact.email", "--role", "support",
          "--purpose", "support"], True, "low-support"),
        (["--action", "store", "--category", "card.pan", "--role", "billing",
          "--purpose", "billing"], False, "card-number-never-kept"),
        (["--action", "share", "--category", "card.pan", "--role", "billing",
          "--purpose", "billing", "--recipient", "someone"], False, "builtin:unknown-recipient"),
    ],
)  # fmt: skip
def test_decide_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], allowed: bool, rule: str
) -> None:
    code, out, _ = run(capsys, tmp_path, "decide", *args, "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["allowed"] is allowed and doc["rule_id"] == rule
    assert {"reason", "obligations", "policy_version"} <= doc.keys()


def test_decide_text_with_explain(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, tmp_path, "decide", "--action", "use", "--category",
                       "secret.password", "--role", "support", "--purpose", "support",
                       "--explain")  # fmt: skip
    assert code == 0 and "deny" in out and "high-authentication-only" in out


def test_decide_unknown_category_exits_with_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, tmp_path, "decide", "--action", "use", "--category", "contact.emial",
                       "--role", "support", "--purpose", "support")  # fmt: skip
    assert code == 65 and "contact.email" in err


def _within_review_period() -> str:
    """A day inside the shipped policy's review period, so these tests do not age."""
    md = load_policy().metadata
    return (md.effective + timedelta(days=30)).isoformat()


def test_lint_default_ok(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, tmp_path, "lint", "--as-of", _within_review_period())
    assert code == 0 and "ok" in out


def test_lint_default_flags_overdue_review(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    late = (load_policy().metadata.next_review + timedelta(days=1)).isoformat()
    code, out, _ = run(capsys, tmp_path, "lint", "--as-of", late)
    assert code == 1 and "review" in out


def test_as_of_must_be_a_date(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, tmp_path, "status", "--as-of", "soon")
    assert code == 65 and "YYYY-MM-DD" in err


@pytest.mark.parametrize("name", ["forbidden_allowed", "unknown_processor", "shadowed_rule"])
def test_lint_broken_prints_file_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str
) -> None:
    path = FIXTURES / f"{name}.yaml"
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "# <-" in t)
    code, out, _ = run(capsys, tmp_path, "lint", str(path))
    assert code == 1
    assert f"{path}:{line}: error: " in out


def test_policy_in_home_replaces_default(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "policy.yaml").write_text(
        VALID.format(version="home-1", effective="2026-11-01", purpose="support"), encoding="utf-8"
    )
    code, out, _ = run(capsys, tmp_path, "status")
    assert code == 0 and "home-1" in out and str(tmp_path) in out


def test_status_check_overdue(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(
        VALID.format(version="old", effective="2019-01-01", purpose="support"), encoding="utf-8"
    )
    code, out, _ = run(capsys, tmp_path, "status")
    assert code == 0 and "overdue" in out
    code, _, _ = run(capsys, tmp_path, "status", "--check")
    assert code == 1


def test_status_check_ok(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, tmp_path, "status", "--check", "--as-of", _within_review_period())
    assert code == 0 and "next review" in out


def test_diff(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(VALID.format(version="1", effective="2026-11-01", purpose="support"))
    new.write_text(VALID.format(version="2", effective="2026-11-01", purpose="security"))
    code, out, _ = run(capsys, tmp_path, "diff", str(old), str(new))
    assert code == 0
    assert "rule low-support: purposes changed from support to security" in out
    code, out, _ = run(capsys, tmp_path, "diff", str(old), str(old))
    assert code == 0 and "no changes" in out


def test_policy_test_default_cases(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, tmp_path, "test", DEFAULT_TESTS)
    assert code == 0 and "0 failed" in out


def test_policy_test_failure(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text("cases:\n  - {action: store, category: card.cvv, role: billing, "
                     "purpose: billing, expect: allow}\n")  # fmt: skip
    code, out, err = run(capsys, tmp_path, "test", str(cases))
    assert code == 1 and f"{cases}:2" in out and "1 failed" in err


def test_invalid_policy_in_home_names_file_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "policy.yaml").write_text(
        VALID.format(version="x", effective="2026-11-01", purpose="support").replace(
            "effect: allow", "effect: maybe"
        )
    )
    code, _, err = run(capsys, tmp_path, "show")
    assert code == 65 and "policy.yaml:9:" in err.replace("\n", "")
