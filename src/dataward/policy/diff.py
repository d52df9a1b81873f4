"""``diff_policies``: what changed between two policies, rule by rule, in words."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dataward.policy.engine import Policy
from dataward.policy.model import Processor, Rule

__all__ = ["describe_rule", "diff_policies"]


def _names(values: Iterable[str] | None) -> str:
    return "any" if values is None else ", ".join(sorted(values)) or "none"


def describe_rule(rule: Rule) -> str:
    """One sentence: what the rule does."""
    verb = "allows" if rule.allows else "denies"
    text = (
        f"{verb} {', '.join(a.value for a in rule.actions)} on {rule.target} "
        f"for roles {_names(rule.roles)}, purposes {_names(rule.purposes)}"
    )
    if rule.recipients is not None:
        text += f", to {_names(rule.recipients)}"
    if rule.obligations:
        text += f", with {_names(o.value for o in rule.obligations)}"
    if rule.retention is not None:
        text += f"; retention: {rule.retention}"
    return text


_FIELDS: tuple[tuple[str, str], ...] = (
    ("effect", "effect"),
    ("actions", "actions"),
    ("target", "target"),
    ("roles", "roles"),
    ("purposes", "purposes"),
    ("recipients", "recipients"),
    ("obligations", "obligations"),
    ("retention", "retention"),
    ("cites", "citation"),
)


def _show(rule: Rule, attr: str) -> str:
    value = getattr(rule, attr)
    if attr == "actions":
        return ", ".join(a.value for a in value)
    if attr == "obligations":
        return _names(o.value for o in value)
    if attr in ("roles", "purposes", "recipients"):
        return _names(value)
    return "none" if value is None else str(value)


def _same(rule: Rule) -> tuple[str, str]:
    return describe_rule(rule), rule.cites


def _mapping(kind: str, old: Mapping[str, object], new: Mapping[str, object]) -> list[str]:
    out = [f"{kind} {n!r} added" for n in new if n not in old]
    out += [f"{kind} {n!r} removed" for n in old if n not in new]
    for n in new:
        if n in old and old[n] != new[n]:
            a, b = old[n], new[n]
            if isinstance(a, Processor) and isinstance(b, Processor):
                for attr in ("purpose", "dpa", "country", "categories"):
                    va, vb = getattr(a, attr), getattr(b, attr)
                    if va != vb:
                        if attr == "categories":
                            va, vb = _names(va), _names(vb)
                        out.append(f"{kind} {n!r}: {attr} changed from {va} to {vb}")
            else:
                out.append(f"{kind} {n!r} changed from {a} to {b}")
    return out


def diff_policies(old: Policy, new: Policy) -> list[str]:
    """Every change from ``old`` to ``new`` as a sentence; empty when they say the same."""
    out: list[str] = []
    for attr in ("version", "effective", "next_review", "owner"):
        a, b = getattr(old.metadata, attr), getattr(new.metadata, attr)
        if a != b:
            out.append(f"metadata {attr} changed from {a} to {b}")
    if old.audit_retention != new.audit_retention:
        out.append(f"audit_retention changed from {old.audit_retention} to {new.audit_retention}")
    out += _mapping("role", old.roles, new.roles)
    out += _mapping("purpose", old.purposes, new.purposes)
    out += _mapping("processor", old.processors, new.processors)
    old_cats = {c.name: c.data_class.value for c in old.taxonomy}
    new_cats = {c.name: c.data_class.value for c in new.taxonomy}
    out += _mapping("category", old_cats, new_cats)
    old_rules = {r.id: r for r in old.rules}
    new_rules = {r.id: r for r in new.rules}
    gone = {_same(r): r.id for rid, r in old_rules.items() if rid not in new_rules}
    renamed: set[str] = set()
    for rid, rule in new_rules.items():
        if rid not in old_rules and _same(rule) in gone:
            before_id = gone.pop(_same(rule))
            renamed.add(before_id)
            out.append(f"rule {before_id} renamed to {rid} (same meaning)")
            continue
        if rid not in old_rules:
            out.append(f"rule {rid} added (line {rule.line}): {describe_rule(rule)}")
            continue
        before = old_rules[rid]
        for attr, word in _FIELDS:
            a, b = _show(before, attr), _show(rule, attr)
            if a != b:
                out.append(f"rule {rid}: {word} changed from {a} to {b}")
    for rid, rule in old_rules.items():
        if rid not in new_rules and rid not in renamed:
            out.append(f"rule {rid} removed (was: {describe_rule(rule)})")
    out += _effects(old, new)
    return out


def _effects(old: Policy, new: Policy) -> list[str]:
    """The net effect on decisions over the requests both policies know."""
    a, b = old.decision_table(), new.decision_table()
    opened = [k for k in a.keys() & b.keys() if b[k].allowed and not a[k].allowed]
    closed = [k for k in a.keys() & b.keys() if a[k].allowed and not b[k].allowed]
    out = []
    for word, keys in (("now allowed", opened), ("now denied", closed)):
        if keys:
            keys.sort(key=lambda k: tuple(str(x) for x in k))
            sample = "; ".join(
                f"{k[0]} {k[1]} by {k[2]} for {k[3]}" + (f" to {k[4]}" if k[4] else "")
                for k in keys[:3]
            )
            more = f" (and {len(keys) - 3} more)" if len(keys) > 3 else ""
            out.append(f"in effect: {len(keys)} requests {word}, e.g. {sample}{more}")
    return out
