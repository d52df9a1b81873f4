"""From a validated policy file to compiled parts, with every meaning error located by line.

Errors here make :func:`~dataward.policy.load_policy` refuse the file; ``lint`` reports them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

from dataward.errors import PolicyError
from dataward.policy.model import IsoDuration, PolicyMetadata, Processor, Retention, Rule
from dataward.policy.schema import LineMap, PolicyFile, RuleModel
from dataward.taxonomy import Action, Category, DataClass, Taxonomy, default_taxonomy

__all__ = [
    "CARD_DATA",
    "DEFAULT_PURPOSES",
    "DEFAULT_ROLES",
    "STORING",
    "LintFinding",
    "PolicyParts",
    "analyse",
]

CARD_DATA = frozenset({"card.pan", "card.cvv"})
STORING = frozenset({Action.STORE, Action.ARCHIVE})

DEFAULT_ROLES: Mapping[str, str] = MappingProxyType(
    {
        "service": "An internal application acting for the service.",
        "support": "Client support staff.",
        "billing": "Billing and accounting staff or systems.",
        "sales": "Sales staff, during a sales process.",
        "authentication": "The login service.",
        "dpm": "The Data Protection Manager.",
        "auditor": "An auditor of the audit log.",
        "admin": "An administrator of dataward itself.",
    }
)
DEFAULT_PURPOSES: Mapping[str, str] = MappingProxyType(
    {
        "contract": "Providing the service the client subscribed to.",
        "billing": "Invoicing and collecting payment.",
        "support": "Answering the client's support requests.",
        "security": "Abuse, fraud and incident handling.",
        "legal": "A legal obligation (bookkeeping, retention and deletion schedules).",
        "sales": "A sales process (registration, communication with sales).",
        "authentication": "Logging the client in.",
        "data_subject_request": "Access, rectification or erasure asked by the data subject.",
    }
)


@dataclass(frozen=True, slots=True)
class LintFinding:
    """One problem in a policy file, with where it is and what to do."""

    severity: str  # "error" | "warning"
    path: str
    line: int
    message: str
    code: str = "schema"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.message}"


@dataclass(frozen=True, slots=True)
class PolicyParts:
    metadata: PolicyMetadata
    taxonomy: Taxonomy
    roles: Mapping[str, str]
    purposes: Mapping[str, str]
    processors: Mapping[str, Processor]
    rules: tuple[Rule, ...]
    audit_retention: IsoDuration
    source: str
    lines: LineMap = field(repr=False, default_factory=lambda: LineMap({}))


class _Collector:
    def __init__(self, path: str) -> None:
        self.path = path
        self.findings: list[LintFinding] = []

    def error(self, line: int, message: str, code: str) -> None:
        self.findings.append(LintFinding("error", self.path, line, message, code))


def _plus_one_year(d: date) -> date:
    try:
        return d.replace(year=d.year + 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year + 1, day=28)


def _names(
    c: _Collector, names: Iterable[str], known: Mapping[str, object], what: str, line: int, fix: str
) -> None:
    for n in names:
        if n not in known:
            c.error(
                line, f"unknown {what} `{n}`; use one of {', '.join(sorted(known))} {fix}", what
            )


def _taxonomy(doc: PolicyFile, lmap: LineMap, c: _Collector) -> Taxonomy:
    base = default_taxonomy()
    tax = base
    for name, spec in doc.categories.items():
        cat = Category(name, spec.class_, spec.description, "user", "", shipped=False)
        try:
            tax = tax.extend([cat])
        except PolicyError as exc:
            c.error(lmap.line("categories", name), exc.message, "taxonomy")
    return tax


def _rule(
    i: int, r: RuleModel, doc: PolicyFile, lmap: LineMap, c: _Collector, ctx: _Ctx
) -> Rule | None:
    at = lmap.line("rules", i)
    targets = [x is not None for x in (r.class_, r.category, r.categories)]
    if sum(targets) != 1:
        c.error(
            at,
            f"rule `{r.id}` needs exactly one of `class:`, `category:` or "
            "`categories:`; write e.g. `class: low` or `category: contact.email`",
            "target",
        )
        return None
    cats: tuple[str, ...] = ()
    if r.category is not None or r.categories is not None:
        cats = tuple([r.category] if r.category is not None else (r.categories or []))
        key = "category" if r.category is not None else "categories"
        for name in cats:
            if name not in ctx.taxonomy:
                hint = ctx.taxonomy.suggest(name)
                more = f"did you mean {', '.join(hint)}?" if hint else "add it under `categories:`"
                c.error(
                    lmap.line("rules", i, key),
                    f"rule `{r.id}`: unknown category `{name}`; " + more,
                    "unknown-category",
                )
    fix = "or add it to the policy's `{}:` section"
    if r.roles is not None:
        _names(c, r.roles, ctx.roles, "role", lmap.line("rules", i, "roles"), fix.format("roles"))
    if r.purposes is not None:
        _names(
            c,
            r.purposes,
            ctx.purposes,
            "purpose",
            lmap.line("rules", i, "purposes"),
            fix.format("purposes"),
        )
    if r.recipients is not None:
        rl = lmap.line("rules", i, "recipients")
        for n in r.recipients:
            if n not in doc.processors:
                c.error(
                    rl,
                    f"rule `{r.id}` shares with `{n}`, which is not a registered "
                    "processor; personal data goes only to processors listed under "
                    f"`processors:` ({', '.join(sorted(doc.processors)) or 'none'})",
                    "unknown-processor",
                )
        if Action.SHARE not in r.actions:
            c.error(
                rl,
                f"rule `{r.id}` has `recipients:` but no `share` action; add `share` to "
                "its actions or remove the recipients",
                "recipients",
            )
    elif r.effect == "allow" and Action.SHARE in r.actions:
        c.error(
            at,
            f"rule `{r.id}` allows `share` without `recipients:`; name the registered "
            "processors it may share with, e.g. `recipients: [card-processor]`",
            "recipients",
        )
    rule = Rule(
        id=r.id, effect=r.effect, actions=tuple(dict.fromkeys(r.actions)),
        data_class=r.class_, categories=cats,
        roles=None if r.roles is None else frozenset(r.roles),
        purposes=None if r.purposes is None else frozenset(r.purposes),
        recipients=None if r.recipients is None else frozenset(r.recipients),
        obligations=frozenset(r.obligations) if r.effect == "allow" else frozenset(),
        retention=None if r.retention is None else Retention(r.retention.keep, r.retention.archive),
        cites=r.cites, line=at, description=r.description,
    )  # fmt: skip
    _protections(rule, ctx, c)
    return rule


def _protections(rule: Rule, ctx: _Ctx, c: _Collector) -> None:
    if not rule.allows:
        return
    cats = (
        [x.name for x in ctx.taxonomy.in_class(rule.data_class)]
        if rule.data_class is not None
        else [n for n in rule.categories if n in ctx.taxonomy]
    )
    forbidden = [n for n in cats if ctx.taxonomy.class_of(n) is DataClass.FORBIDDEN]
    if forbidden:
        c.error(
            rule.line,
            f"rule `{rule.id}` allows {', '.join(a.value for a in rule.actions)} "
            f"on forbidden {rule.target}: forbidden data is never collected, used, stored or "
            "shared; write `effect: deny` or remove the rule",
            "forbidden-allowed",
        )
    card = sorted(set(cats) & CARD_DATA)
    kept = [a.value for a in rule.actions if a in STORING]
    if card and kept:
        c.error(
            rule.line,
            f"rule `{rule.id}` allows {' and '.join(kept)} of {', '.join(card)}: "
            "card numbers and CVV are never stored nor archived, only sent to the card "
            "processor; remove store/archive from its actions",
            "card-data-kept",
        )


@dataclass
class _Ctx:
    taxonomy: Taxonomy
    roles: Mapping[str, str]
    purposes: Mapping[str, str]


def _processors(doc: PolicyFile, lmap: LineMap, c: _Collector, ctx: _Ctx) -> dict[str, Processor]:
    out = {}
    for name, p in doc.processors.items():
        if p.purpose not in ctx.purposes:
            c.error(
                lmap.line("processors", name, "purpose"),
                f"processor `{name}`: unknown "
                f"purpose `{p.purpose}`; use one of {', '.join(sorted(ctx.purposes))}",
                "purpose",
            )
        for cat in p.categories:
            if cat not in ctx.taxonomy:
                c.error(
                    lmap.line("processors", name, "categories"),
                    f"processor `{name}`: unknown category `{cat}`",
                    "unknown-category",
                )
            elif ctx.taxonomy.class_of(cat) is DataClass.FORBIDDEN:
                c.error(
                    lmap.line("processors", name, "categories"),
                    f"processor `{name}` may not receive forbidden category `{cat}`; remove it",
                    "forbidden-allowed",
                )
        out[name] = Processor(name, p.purpose, frozenset(p.categories), p.dpa, p.country,
                              p.description)  # fmt: skip
    return out


def analyse(doc: PolicyFile, lmap: LineMap, path: str) -> tuple[PolicyParts, list[LintFinding]]:
    """Compile the rules and collect every meaning error (load refuses the file if any)."""
    c = _Collector(path)
    tax = _taxonomy(doc, lmap, c)
    ctx = _Ctx(tax, {**DEFAULT_ROLES, **doc.roles}, {**DEFAULT_PURPOSES, **doc.purposes})
    processors = _processors(doc, lmap, c, ctx)
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for i, r in enumerate(doc.rules):
        line = lmap.line("rules", i)
        if r.id in seen:
            c.error(
                line,
                f"rule id `{r.id}` is used twice (first on line {seen[r.id]}); "
                "give each rule its own id",
                "duplicate-id",
            )
        seen.setdefault(r.id, line)
        rule = _rule(i, r, doc, lmap, c, ctx)
        if rule is not None:
            rules.append(rule)
    audit_ret = doc.settings.audit_retention
    if audit_ret.approx_days < 365:
        c.error(
            lmap.line("settings", "audit_retention"),
            f"audit_retention {audit_ret} is shorter than one year; write P1Y or more",
            "audit-retention",
        )
    md = doc.metadata
    meta = PolicyMetadata(md.version, md.effective, md.next_review or _plus_one_year(md.effective),
                          md.owner)  # fmt: skip
    if meta.next_review <= meta.effective:
        c.error(
            lmap.line("metadata", "next_review"),
            "next_review must come after effective; leave it out for effective + 1 year",
            "dates",
        )
    parts = PolicyParts(
        metadata=meta, taxonomy=tax, roles=MappingProxyType(ctx.roles),
        purposes=MappingProxyType(ctx.purposes), processors=MappingProxyType(processors),
        rules=tuple(rules), audit_retention=audit_ret, source=path, lines=lmap,
    )  # fmt: skip
    return parts, c.findings
