"""diff_policies in words, and the policy test-case runner."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from policy_samples import MINIMAL

from dataward.errors import PolicyFileError
from dataward.policy import Policy, diff_policies, load_policy, run_policy_tests
from dataward.taxonomy import Action, DataClass

DEFAULT_TESTS = Path(str(resources.files("dataward.policy").joinpath("default_policy_tests.yaml")))


def test_default_policy_test_file_passes(policy: Policy) -> None:
    report = run_policy_tests(policy, DEFAULT_TESTS)
    assert report.ok, [(r.line, r.problems) for r in report.results if not r.passed]
    assert len(report.results) >= 60


def test_default_tests_cover_every_class_and_action(policy: Policy) -> None:
    report = run_policy_tests(policy, DEFAULT_TESTS)
    covered = {(policy.taxonomy.class_of(r.case.category), r.case.action) for r in report.results}
    assert covered == {(dc, a) for dc in DataClass for a in Action}


def test_failing_case_is_reported_with_line(policy: Policy, tmp_path: Path) -> None:
    f = tmp_path / "cases.yaml"
    f.write_text(
        "cases:\n"
        "  - {action: use, category: contact.email, role: support, purpose: support,"
        " expect: allow, rule: low-support}\n"
        "  - {action: store, category: card.pan, role: billing, purpose: billing,"
        " expect: allow, obligations: [encrypt]}\n",
        encoding="utf-8",
    )
    report = run_policy_tests(policy, f)
    assert (report.passed, report.failed) == (1, 1)
    bad = report.results[1]
    assert bad.line == 3
    assert any("expected allow, got deny" in p for p in bad.problems)
    assert any("expected obligations encrypt, got none" in p for p in bad.problems)


def test_malformed_case_file(policy: Policy, tmp_path: Path) -> None:
    f = tmp_path / "cases.yaml"
    f.write_text("cases:\n  - {action: use, category: contact.email, role: support}\n",
                 encoding="utf-8")  # fmt: skip
    with pytest.raises(PolicyFileError) as info:
        run_policy_tests(policy, f)
    assert info.value.line == 2 and "missing field `purpose`" in str(info.value)


def test_diff_in_words(write_policy) -> None:  # type: ignore[no-untyped-def]
    old = load_policy(write_policy(MINIMAL, "old.yaml"))
    new_text = MINIMAL.replace('"1"', '"2"').replace("roles: [support]", "roles: [support, sales]")
    new_text = new_text.replace("country: CH", "country: DE")
    new_text += """\
  - id: low-erasure
    class: low
    actions: [destroy]
    effect: allow
    roles: [dpm]
    purposes: [data_subject_request]
    cites: "This contact is also the sole contact for requesting a change or deletion."
"""
    new = load_policy(write_policy(new_text, "new.yaml"))
    changes = diff_policies(old, new)
    assert "metadata version changed from 1 to 2" in changes
    assert "rule low-support: roles changed from support to sales, support" in changes
    assert "processor 'card-processor': country changed from CH to DE" in changes
    assert any(c.startswith("rule low-erasure added (line 17): allows destroy on class low")
               for c in changes)  # fmt: skip
    assert any(c.startswith("in effect:") and "now allowed" in c for c in changes)
    back = diff_policies(new, old)
    assert any(c.startswith("rule low-erasure removed") for c in back)
    assert diff_policies(old, old) == []


def test_diff_sees_a_renamed_rule(write_policy) -> None:  # type: ignore[no-untyped-def]
    old = load_policy(write_policy(MINIMAL, "old.yaml"))
    new = load_policy(write_policy(MINIMAL.replace("id: low-support", "id: low-help"), "new.yaml"))
    assert diff_policies(old, new) == ["rule low-support renamed to low-help (same meaning)"]
