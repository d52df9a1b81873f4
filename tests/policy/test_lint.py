"""lint: the default policy is clean; each broken fixture fails at the line it is broken on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from policy_samples import FIXTURES

from dataward.errors import PolicyFileError
from dataward.policy import lint_policy, load_policy

BROKEN = sorted((FIXTURES / "broken").glob("*.yaml"))


def _expectation(path: Path) -> tuple[int, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    m = re.match(r"# expect: (.+)$", lines[0])
    assert m, f"{path.name}: first line must be '# expect: <message>'"
    marked = [i for i, line in enumerate(lines, start=1) if "# <-" in line]
    assert len(marked) == 1, f"{path.name}: mark the broken line with '# <-'"
    return marked[0], m.group(1)


def test_default_policy_is_clean() -> None:
    policy = load_policy()
    assert lint_policy(today=policy.metadata.effective) == []
    assert lint_policy(policy, today=policy.metadata.effective) == []


def test_there_are_at_least_ten_broken_fixtures() -> None:
    assert len(BROKEN) >= 10


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_fixture_fails_at_its_line(path: Path) -> None:
    line, message = _expectation(path)
    findings = lint_policy(path)
    errors = [f for f in findings if f.severity == "error"]
    assert errors, f"{path.name} should not lint clean"
    hits = [f for f in errors if f.line == line and message in f.message]
    assert hits, f"expected {path.name}:{line}: {message!r}; got {[str(f) for f in errors]}"
    assert str(hits[0]).startswith(f"{path}:{line}: error: ")


def test_load_errors_match_lint(write_policy) -> None:  # type: ignore[no-untyped-def]
    path = FIXTURES / "broken" / "forbidden_allowed.yaml"
    line, message = _expectation(path)
    with pytest.raises(PolicyFileError) as info:
        load_policy(path)
    assert info.value.line == line and message in str(info.value)


def test_meaning_only_findings_do_not_block_loading() -> None:
    # shadowed rules and overdue reviews are lint errors, but the policy still loads
    for name in ("shadowed_rule", "review_overdue", "no_retention"):
        load_policy(FIXTURES / "broken" / f"{name}.yaml")
