"""Rule matching, and the precompiled decision table: one dict lookup per decision.

The table holds a :class:`Decision` for every (action, category, role, purpose, recipient) the
policy knows (recipient is ``None`` except for ``share``). Identical decisions are shared.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import product

from dataward.policy.checks import CARD_DATA, STORING, PolicyParts
from dataward.policy.model import Decision, Rule
from dataward.taxonomy import Action, DataClass

__all__ = ["Key", "compile_table", "coverage", "evaluate", "index_rules", "why_not"]

Key = tuple[str, str, str, str, str | None]
Index = dict[tuple[Action, str], tuple[Rule, ...]]

FORBIDDEN_ID = "builtin:forbidden"
CARD_ID = "builtin:card-data"
DEFAULT_ID = "builtin:default-deny"


def index_rules(parts: PolicyParts) -> Index:
    """For each (action, category): the rules that target it, category rules first, file order."""
    out: dict[tuple[Action, str], list[Rule]] = {}
    for level in ("category", "class"):
        for rule in parts.rules:
            if (rule.data_class is None) != (level == "category"):
                continue
            cats = (
                [c.name for c in parts.taxonomy.in_class(rule.data_class)]
                if rule.data_class is not None
                else list(rule.categories)
            )
            for action in rule.actions:
                for cat in cats:
                    out.setdefault((action, cat), []).append(rule)
    return {k: tuple(v) for k, v in out.items()}


def why_not(
    rule: Rule,
    parts: PolicyParts,
    action: Action,
    category: str,
    role: str,
    purpose: str,
    recipient: str | None,
) -> str | None:
    """``None`` when ``rule`` applies to the request, else the reason it does not."""
    if rule.roles is not None and role not in rule.roles:
        return f"role {role!r} is not one of {', '.join(sorted(rule.roles))}"
    if rule.purposes is not None and purpose not in rule.purposes:
        return f"purpose {purpose!r} is not one of {', '.join(sorted(rule.purposes))}"
    if action is not Action.SHARE:
        return None
    if rule.recipients is not None and recipient not in rule.recipients:
        return f"recipient {recipient!r} is not one of {', '.join(sorted(rule.recipients))}"
    if rule.allows and recipient is not None:
        proc = parts.processors[recipient]
        if category not in proc.categories:
            return f"processor {recipient!r} may not receive {category} under its agreement"
        if purpose != proc.purpose:
            return f"processor {recipient!r} serves purpose {proc.purpose!r} only"
    return None


def _guard(parts: PolicyParts, action: Action, category: str) -> Decision | None:
    """The protections no policy can lift: forbidden data; card numbers and CVV at rest."""
    v = parts.metadata.version
    if parts.taxonomy.class_of(category) is DataClass.FORBIDDEN:
        return Decision(False, FORBIDDEN_ID, f"{category} is forbidden data: never collected, "
                        "used, stored or shared", policy_version=v)  # fmt: skip
    if category in CARD_DATA and action in STORING:
        return Decision(False, CARD_ID, f"{category} is never stored nor archived: it only "
                        "travels to the card processor", policy_version=v)  # fmt: skip
    return None


def evaluate(
    parts: PolicyParts,
    index: Index,
    action: Action,
    category: str,
    role: str,
    purpose: str,
    recipient: str | None,
    _cache: dict[object, Decision] | None = None,
) -> Decision:
    """Decide one request by walking the rules (the table is built from this)."""
    v = parts.metadata.version
    for rule in index.get((action, category), ()):
        if why_not(rule, parts, action, category, role, purpose, recipient) is None:
            if rule.allows:
                guard = _guard(parts, action, category)
                if guard is not None:
                    return guard
            return _rule_decision(rule, v, _cache)
    if action is Action.SHARE and recipient is None:
        reason = "share needs a recipient: one of the registered processors"
    else:
        reason = (
            f"no rule allows {action.value} of {category} by role {role!r} for purpose "
            f"{purpose!r}" + (f" to {recipient!r}" if recipient else "") + "; denied by default"
        )
    return Decision(False, DEFAULT_ID, reason, policy_version=v)


def _rule_decision(rule: Rule, version: str, cache: dict[object, Decision] | None) -> Decision:
    if cache is not None and rule.id in cache:
        return cache[rule.id]
    verb = "allowed" if rule.allows else "denied"
    d = Decision(
        allowed=rule.allows,
        rule_id=rule.id,
        reason=f"{verb} by rule {rule.id} ({rule.target}): {rule.cites}",
        obligations=rule.obligations,
        retention=rule.retention if rule.allows else None,
        policy_version=version,
    )
    if cache is not None:
        cache[rule.id] = d
    return d


def cells(parts: PolicyParts) -> Iterator[tuple[Action, str, str, str, str | None]]:
    """Every request the policy knows the names of."""
    recipients: list[str | None] = [None, *parts.processors]
    for action in Action:
        for cat in parts.taxonomy.categories:
            for role, purpose in product(parts.roles, parts.purposes):
                if action is Action.SHARE:
                    for rec in recipients:
                        yield action, cat, role, purpose, rec
                else:
                    yield action, cat, role, purpose, None


def compile_table(parts: PolicyParts, index: Index) -> dict[Key, Decision]:
    """The full decision table. Keys use plain strings; ``Action`` members hash the same."""
    cache: dict[object, Decision] = {}
    table: dict[Key, Decision] = {}
    for action, cat, role, purpose, rec in cells(parts):
        d = evaluate(parts, index, action, cat, role, purpose, rec, cache)
        table[(action.value, cat, role, purpose, rec)] = d
    return table


def coverage(parts: PolicyParts, index: Index) -> tuple[dict[str, int], dict[str, set[str]]]:
    """How many requests each rule decides, and which rules decide the ones it also matches."""
    decided = {r.id: 0 for r in parts.rules}
    shadowed_by: dict[str, set[str]] = {r.id: set() for r in parts.rules}
    for action, cat, role, purpose, rec in cells(parts):
        winner: Rule | None = None
        for rule in index.get((action, cat), ()):
            if why_not(rule, parts, action, cat, role, purpose, rec) is None:
                if winner is None:
                    winner = rule
                    decided[rule.id] += 1
                else:
                    shadowed_by[rule.id].add(winner.id)
    return decided, shadowed_by
