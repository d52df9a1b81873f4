"""Policy test cases, like ``opa test``: requests and the decisions expected for them.

A test file is YAML::

    cases:
      - {action: store, category: contact.email, role: support, purpose: support,
         expect: allow, rule: low-support, obligations: [encrypt, audit]}

``expect`` is ``allow`` or ``deny``; ``rule`` and ``obligations`` are checked when given
(``obligations: []`` checks there are none). ``name`` is optional.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dataward.errors import PolicyFileError
from dataward.policy.engine import Policy
from dataward.policy.model import Obligation
from dataward.policy.schema import read_yaml, validation_issues
from dataward.taxonomy import Action

__all__ = ["PolicyTestCase", "PolicyTestReport", "PolicyTestResult", "run_policy_tests"]


class PolicyTestCase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    action: Action
    category: str
    role: str
    purpose: str
    recipient: str | None = None
    expect: Literal["allow", "deny"]
    rule: str | None = None
    obligations: list[Obligation] | None = None


class _TestFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cases: list[PolicyTestCase] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class PolicyTestResult:
    case: PolicyTestCase
    line: int
    passed: bool
    problems: tuple[str, ...]

    @property
    def label(self) -> str:
        c = self.case
        req = f"{c.action.value} {c.category} by {c.role} for {c.purpose}"
        req += f" to {c.recipient}" if c.recipient else ""
        return f"{c.name} ({req})" if c.name else req


@dataclass(frozen=True, slots=True)
class PolicyTestReport:
    path: str
    results: tuple[PolicyTestResult, ...]

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    @property
    def ok(self) -> bool:
        return self.failed == 0


def _load(path: Path) -> tuple[_TestFile, list[int]]:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyFileError(
            f"cannot read the test file ({type(exc).__name__})", path=name
        ) from None
    data, lmap, issues = read_yaml(text)
    if not issues and not isinstance(data, dict):
        raise PolicyFileError("a test file is a mapping with a `cases:` list", path=name, line=1)
    if not issues:
        try:
            doc = _TestFile.model_validate(data)
        except ValidationError as exc:
            issues = validation_issues(exc, lmap)
        else:
            return doc, [lmap.line("cases", i) for i in range(len(doc.cases))]
    first = issues[0]
    raise PolicyFileError(first.message, path=name, line=first.line)


def _check(policy: Policy, case: PolicyTestCase) -> list[str]:
    d = policy.decide(
        action=case.action,
        category=case.category,
        role=case.role,
        purpose=case.purpose,
        recipient=case.recipient,
    )
    problems = []
    effect = "allow" if d.allowed else "deny"
    if effect != case.expect:
        problems.append(f"expected {case.expect}, got {effect} (rule {d.rule_id})")
    if case.rule is not None and case.rule != d.rule_id:
        problems.append(f"expected rule {case.rule}, got {d.rule_id}")
    if case.obligations is not None and frozenset(case.obligations) != d.obligations:
        want = ", ".join(sorted(o.value for o in case.obligations)) or "none"
        got = ", ".join(sorted(o.value for o in d.obligations)) or "none"
        problems.append(f"expected obligations {want}, got {got}")
    return problems


def run_policy_tests(policy: Policy, path: str | Path) -> PolicyTestReport:
    """Run every case of the test file at ``path`` against ``policy``.

    A malformed file raises :class:`~dataward.errors.PolicyFileError` (file and line); an
    unknown category in a case is a failure of that case, not of the run.
    """
    p = Path(path)
    doc, lines = _load(p)
    results = []
    for case, line in zip(doc.cases, lines, strict=True):
        try:
            problems = _check(policy, case)
        except KeyError as exc:  # UnknownCategoryError
            problems = [str(exc)]
        results.append(PolicyTestResult(case, line, not problems, tuple(problems)))
    return PolicyTestReport(str(p), tuple(results))
