"""``lint_policy``: every problem of a policy file, each with file, line and what to do."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from dataward.policy.checks import LintFinding, PolicyParts
from dataward.policy.compile import Index, compile_table, coverage, index_rules
from dataward.policy.engine import (
    DEFAULT_POLICY_NAME,
    Policy,
    default_policy_text,
    parse_policy,
)
from dataward.policy.model import Obligation
from dataward.taxonomy import Action, DataClass

__all__ = ["lint_policy"]

_Report = Callable[[int, str, str], None]
HASH_ONLY = frozenset({"secret.password", "secret.recovery_code"})


def lint_policy(
    source: str | Path | Policy | None = None, *, today: date | None = None
) -> list[LintFinding]:
    """Check a policy file (``None`` = the shipped default) or a loaded :class:`Policy`.

    Returns the findings sorted by line; an empty list means the policy is clean. Errors that
    make :func:`load_policy` refuse the file are included, as are the meaning checks that only
    lint makes: shadowed rules, storage without retention, unprotected secrets, review overdue.
    """
    if isinstance(source, Policy):
        parts: PolicyParts | None = source.parts
        findings: list[LintFinding] = []
    else:
        if source is None:
            text, name = default_policy_text(), DEFAULT_POLICY_NAME
        else:
            name = str(source)
            try:
                text = Path(source).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                return [LintFinding("error", name, 1, f"cannot read the file "
                                    f"({type(exc).__name__})", "io")]  # fmt: skip
        parts, findings = parse_policy(text, name)
    if parts is not None and not any(f.severity == "error" for f in findings):
        findings = [*findings, *_meaning(parts, today or date.today())]
    return sorted(findings, key=lambda f: (f.line, f.message))


def _meaning(parts: PolicyParts, today: date) -> list[LintFinding]:
    out: list[LintFinding] = []
    path, lines = parts.source, parts.lines

    def error(line: int, message: str, code: str) -> None:
        out.append(LintFinding("error", path, line, message, code))

    index = index_rules(parts)
    decided, shadowed_by = coverage(parts, index)
    by_id = {r.id: r for r in parts.rules}
    for rule in parts.rules:
        if decided.get(rule.id, 1) == 0:
            if shadowed_by[rule.id]:
                first = ", ".join(
                    f"`{s}` (line {by_id[s].line})" for s in sorted(shadowed_by[rule.id])
                )
                error(rule.line, f"rule `{rule.id}` is shadowed: every request it matches is "
                      f"decided first by {first} (category rules come before class rules, then "
                      "file order); remove it or narrow the rules before it",
                      "shadowed")  # fmt: skip
            else:
                error(rule.line, f"rule `{rule.id}` matches no request (check that its "
                      "processors receive its categories for its purposes); remove or fix it",
                      "unreachable")  # fmt: skip
        keeps = [a.value for a in rule.actions if a in (Action.STORE, Action.ARCHIVE)]
        if rule.allows and keeps and rule.retention is None:
            error(rule.line, f"rule `{rule.id}` allows {' and '.join(keeps)} of {rule.target} "
                  "without retention; add e.g. `retention: {keep: P3Y, archive: P7Y}`",
                  "no-retention")  # fmt: skip
    _protected(parts, index, error)
    md = parts.metadata
    if md.overdue(today):
        line = lines.line("metadata", "next_review")
        error(line, f"the annual review was due on {md.next_review.isoformat()} and has passed; "
              "review the policy with the Data Protection Manager, then raise `version` and set "
              "`effective` to the review date", "review-overdue")  # fmt: skip
    return out


def _protected(parts: PolicyParts, index: Index, error: _Report) -> None:
    """Secrets are stored only protected: passwords hashed, the others hashed or encrypted."""
    by_id = {r.id: r for r in parts.rules}
    reported: set[tuple[str, str]] = set()
    for key, d in compile_table(parts, index).items():
        action, cat = key[0], key[1]
        if not d.allowed or action != Action.STORE or d.rule_id not in by_id:
            continue
        if parts.taxonomy.class_of(cat) is not DataClass.HIGH:
            continue
        need = {Obligation.HASH} if cat in HASH_ONLY else {Obligation.HASH, Obligation.ENCRYPT}
        if d.obligations & need or (d.rule_id, cat) in reported:
            continue
        reported.add((d.rule_id, cat))
        what = "`hash` (slow salted hash)" if cat in HASH_ONLY else "`encrypt` or `hash`"
        error(by_id[d.rule_id].line, f"rule `{d.rule_id}` stores {cat} without {what}; secrets "
              "are stored only protected: add it to the rule's obligations",
              "unprotected-secret")  # fmt: skip
