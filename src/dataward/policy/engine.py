"""The :class:`Policy` (decide, explain) and :func:`load_policy`."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from dataward.errors import InputError, PolicyFileError
from dataward.policy.checks import LintFinding, PolicyParts, analyse
from dataward.policy.compile import (
    DEFAULT_ID,
    Index,
    Key,
    compile_table,
    evaluate,
    index_rules,
    why_not,
)
from dataward.policy.model import (
    Decision,
    ExplainStep,
    Explanation,
    IsoDuration,
    PolicyMetadata,
    Processor,
    Retention,
    Rule,
)
from dataward.policy.schema import read_policy_text
from dataward.settings import Settings
from dataward.taxonomy import Action, Taxonomy

__all__ = ["DEFAULT_POLICY_NAME", "Policy", "load_policy", "parse_policy"]

DEFAULT_POLICY_NAME = "<default policy>"


class Policy:
    """A loaded, validated and compiled policy. Immutable; share it freely between threads."""

    __slots__ = ("_index", "_parts", "_table")

    def __init__(self, parts: PolicyParts) -> None:
        self._parts = parts
        self._index: Index = index_rules(parts)
        self._table: dict[Key, Decision] = compile_table(parts, self._index)

    # --- what the policy says ------------------------------------------------------------------
    @property
    def metadata(self) -> PolicyMetadata:
        return self._parts.metadata

    @property
    def version(self) -> str:
        return self._parts.metadata.version

    @property
    def taxonomy(self) -> Taxonomy:
        """The shipped taxonomy extended with this policy's categories."""
        return self._parts.taxonomy

    @property
    def roles(self) -> Mapping[str, str]:
        """Role name -> description."""
        return self._parts.roles

    @property
    def purposes(self) -> Mapping[str, str]:
        """Purpose name -> description."""
        return self._parts.purposes

    @property
    def processors(self) -> Mapping[str, Processor]:
        return self._parts.processors

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self._parts.rules

    @property
    def audit_retention(self) -> IsoDuration:
        """How long audit entries are kept (at least one year)."""
        return self._parts.audit_retention

    @property
    def source(self) -> str:
        """The file the policy was read from, or ``<default policy>``."""
        return self._parts.source

    @property
    def parts(self) -> PolicyParts:
        return self._parts

    def decision_table(self) -> Mapping[Key, Decision]:
        """Every precomputed decision, keyed by (action, category, role, purpose, recipient)."""
        return MappingProxyType(self._table)

    def rule(self, rule_id: str) -> Rule:
        for r in self._parts.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def retention_for(self, category: str) -> Retention | None:
        """The retention of the first rule that allows storing ``category``, if any."""
        self._parts.taxonomy.get(category)
        for rule in self._index.get((Action.STORE, category), ()):
            if rule.allows and rule.retention is not None:
                return rule.retention
        return None

    # --- decisions -----------------------------------------------------------------------------
    def decide(
        self,
        *,
        action: Action | str,
        category: str,
        role: str,
        purpose: str,
        recipient: str | None = None,
    ) -> Decision:
        """Allow or deny one request. Unknown names deny; an unknown category raises
        :class:`~dataward.errors.UnknownCategoryError`."""
        d = self._table.get((action, category, role, purpose, recipient))
        if d is not None:
            return d
        return self._decide_slow(action, category, role, purpose, recipient)

    def _normalise(
        self, action: Action | str, category: str, recipient: str | None
    ) -> tuple[Action, str | None]:
        try:
            act = Action(action)
        except ValueError:
            raise InputError(
                f"unknown action {action!r}; write one of {', '.join(a.value for a in Action)}"
            ) from None
        self._parts.taxonomy.get(category)  # raises UnknownCategoryError with suggestions
        return act, (recipient if act is Action.SHARE else None)

    def _guards(self, role: str, purpose: str, recipient: str | None) -> Decision | None:
        p, v = self._parts, self.version
        if role not in p.roles:
            return Decision(False, "builtin:unknown-role", f"unknown role {role!r}; the policy "
                            f"knows {', '.join(sorted(p.roles))}", policy_version=v)  # fmt: skip
        if purpose not in p.purposes:
            return Decision(False, "builtin:unknown-purpose", f"unknown purpose {purpose!r}; the "
                            f"policy knows {', '.join(sorted(p.purposes))}",
                            policy_version=v)  # fmt: skip
        if recipient is not None and recipient not in p.processors:
            return Decision(False, "builtin:unknown-recipient", f"recipient {recipient!r} is not "
                            "a registered processor; personal data is never shared with third "
                            "parties", policy_version=v)  # fmt: skip
        return None

    def _decide_slow(
        self, action: Action | str, category: str, role: str, purpose: str, recipient: str | None
    ) -> Decision:
        act, rec = self._normalise(action, category, recipient)
        hit = self._table.get((act.value, category, role, purpose, rec))
        if hit is not None:
            return hit
        guard = self._guards(role, purpose, rec)
        if guard is not None:
            return guard
        return evaluate(self._parts, self._index, act, category, role, purpose, rec)

    def explain(
        self,
        *,
        action: Action | str,
        category: str,
        role: str,
        purpose: str,
        recipient: str | None = None,
    ) -> Explanation:
        """The decision, and every rule considered with why it did or did not apply."""
        act, rec = self._normalise(action, category, recipient)
        decision = self.decide(
            action=act, category=category, role=role, purpose=purpose, recipient=recipient
        )
        guard = self._guards(role, purpose, rec)
        if guard is not None:
            return Explanation(decision, (ExplainStep(guard.rule_id, True, guard.reason),))
        steps: list[ExplainStep] = []
        decided_by: str | None = None
        for rule in self._index.get((act, category), ()):
            if decided_by is not None:
                steps.append(ExplainStep(rule.id, False, f"not reached: {decided_by} decided "
                                         "first", rule.line))  # fmt: skip
                continue
            why = why_not(rule, self._parts, act, category, role, purpose, rec)
            if why is None:
                decided_by = rule.id
                steps.append(ExplainStep(rule.id, True, f"applies ({rule.target}): {rule.effect}; "
                                         f"cites: {rule.cites}", rule.line))  # fmt: skip
            else:
                steps.append(ExplainStep(rule.id, False, why, rule.line))
        if decision.rule_id != decided_by:
            steps.append(ExplainStep(decision.rule_id, True, decision.reason))
        if not steps:
            steps.append(ExplainStep(DEFAULT_ID, True, decision.reason))
        return Explanation(decision, tuple(steps))


# --- loading -------------------------------------------------------------------------------------
def parse_policy(text: str, path: str) -> tuple[PolicyParts | None, list[LintFinding]]:
    """Validate ``text``: the compiled parts (``None`` on schema errors) and every finding."""
    doc, lmap, issues = read_policy_text(text)
    if doc is None:
        return None, [LintFinding("error", path, i.line, i.message, "schema") for i in issues]
    return analyse(doc, lmap, path)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyFileError(
            "no such policy file; pass an existing file, or none for the default", path=str(path)
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyFileError(
            f"cannot read the policy file ({type(exc).__name__}); check it is UTF-8 text",
            path=str(path),
        ) from None


def default_policy_text() -> str:
    return resources.files(__package__).joinpath("default_policy.yaml").read_text(encoding="utf-8")


def _build(text: str, name: str) -> Policy:
    parts, findings = parse_policy(text, name)
    errors = [f for f in findings if f.severity == "error"]
    if errors or parts is None:
        first = errors[0]
        more = (
            f" (and {len(errors) - 1} more; run `dataward policy lint`)" if len(errors) > 1 else ""
        )
        raise PolicyFileError(first.message + more, path=name, line=first.line)
    return Policy(parts)


@functools.cache
def _default_policy() -> Policy:
    return _build(default_policy_text(), DEFAULT_POLICY_NAME)


def load_policy(path: str | Path | None = None, *, settings: Settings | None = None) -> Policy:
    """Load, validate and compile a policy.

    ``path`` wins; else ``settings.effective_policy_path`` (``policy.yaml`` in the data
    directory); else the default policy shipped with dataward. Invalid files raise
    :class:`~dataward.errors.PolicyFileError` naming file and line.
    """
    if path is None and settings is not None:
        path = settings.effective_policy_path
    if path is None:
        return _default_policy()
    p = Path(path)
    return _build(_read(p), str(p))
