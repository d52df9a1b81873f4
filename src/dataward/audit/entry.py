"""What an audit entry may hold, checked strictly, and its canonical bytes.

An entry holds identifiers and vocabulary, never a personal value: every free field must match a
tight pattern, categories must be taxonomy names, the action one of the six actions of the
agreement or an operational verb of :data:`OPERATIONAL_ACTIONS`. A refused entry raises
:class:`AuditSchemaError` naming the field, never its value. An optional *scrubber* (the
detector) runs over the entry and refuses it if it finds personal data.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dataward.errors import AuditSchemaError, UnknownCategoryError
from dataward.taxonomy import Action, DataClass, Taxonomy, default_taxonomy

__all__ = [
    "ENTRY_FIELDS",
    "ENTRY_VERSION",
    "OPERATIONAL_ACTIONS",
    "OUTCOMES",
    "AuditEntry",
    "Decision",
    "EntryBuilder",
    "Scrubber",
    "build_entry",
    "canonical_bytes",
    "format_time",
    "parse_time",
]

ENTRY_VERSION = 1

#: Verbs besides the six actions: what operators and the data-subject workflow do.
OPERATIONAL_ACTIONS: frozenset[str] = frozenset(
    {
        "access",
        "rectify",
        "erase",
        "export",
        "import",
        "restrict",
        "login",
        "logout",
        "decide",
        "verify",
        "checkpoint",
        "prune",
        "key_rotate",
        "key_create",
        "key_revoke",
        "policy_load",
        "backup",
        "restore",
    }
)
ACTIONS: frozenset[str] = frozenset(a.value for a in Action) | OPERATIONAL_ACTIONS
OUTCOMES: frozenset[str] = frozenset({"ok", "denied", "refused", "error", "partial"})

#: A pluggable check: gets the entry's fields, returns the categories of personal data found.
Scrubber = Callable[[Mapping[str, object]], Iterable[str]]

_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_VERSION = re.compile(r"[A-Za-z0-9_.:+-]{1,64}")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# field -> (pattern, pattern text shown in errors, optional)
_PATTERNS: dict[str, tuple[re.Pattern[str], str, bool]] = {
    "actor_id": (_ID, "^[A-Za-z0-9_.:-]{1,128}$", False),
    "actor_role": (_NAME, "^[a-z][a-z0-9_]{0,63}$", False),
    "subject_ref": (_ID, "^[A-Za-z0-9_.:-]{1,128}$", True),
    "purpose": (_NAME, "^[a-z][a-z0-9_]{0,63}$", True),
    "recipient": (_ID, "^[A-Za-z0-9_.:-]{1,128}$", True),
    "request_id": (_ID, "^[A-Za-z0-9_.:-]{1,128}$", True),
    "rule_id": (_ID, "^[A-Za-z0-9_.:-]{1,128}$", True),
    "policy_version": (_VERSION, "^[A-Za-z0-9_.:+-]{1,64}$", True),
}

ENTRY_FIELDS: frozenset[str] = frozenset(
    {
        "time",
        "actor_id",
        "actor_role",
        "action",
        "subject_ref",
        "categories",
        "classes",
        "decision",
        "allowed",
        "rule_id",
        "policy_version",
        "purpose",
        "recipient",
        "outcome",
        "request_id",
    }
)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the policy decided: allow or deny, the rule that decided, the policy version."""

    allowed: bool
    rule_id: str | None = None
    policy_version: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One stored entry of the audit log. ``seq`` starts at 1; hashes are raw 32 bytes."""

    seq: int
    time: str
    actor_id: str
    actor_role: str
    action: str
    subject_ref: str | None
    categories: tuple[str, ...]
    classes: tuple[str, ...]
    decision: Decision | None
    purpose: str | None
    recipient: str | None
    outcome: str
    request_id: str | None
    prev_hash: bytes = b""
    entry_hash: bytes = b""

    @property
    def datetime(self) -> datetime:
        return parse_time(self.time)

    def body(self) -> dict[str, Any]:
        """The hashed content: every field but the hashes, as JSON types."""
        d = self.decision
        return {
            "action": self.action,
            "actor_id": self.actor_id,
            "actor_role": self.actor_role,
            "categories": list(self.categories),
            "classes": list(self.classes),
            "decision": None
            if d is None
            else {"allowed": d.allowed, "policy_version": d.policy_version, "rule_id": d.rule_id},
            "outcome": self.outcome,
            "purpose": self.purpose,
            "recipient": self.recipient,
            "request_id": self.request_id,
            "seq": self.seq,
            "subject_ref": self.subject_ref,
            "time": self.time,
            "v": ENTRY_VERSION,
        }

    def canonical(self) -> bytes:
        """Sorted-key compact JSON of :meth:`body`: the bytes that are hashed."""
        return canonical_bytes(self.body())

    def to_json(self) -> dict[str, Any]:
        """The body plus hex hashes (one line of an export)."""
        out = self.body()
        out["prev_hash"] = self.prev_hash.hex()
        out["entry_hash"] = self.entry_hash.hex()
        return out


_canonical_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode


def canonical_bytes(body: Mapping[str, Any]) -> bytes:
    """Sorted keys, no whitespace, ASCII: identical bytes on every platform."""
    # the encoder json.dumps(body, sort_keys=True, separators=(",", ":")) builds, made once
    return _canonical_encode(body).encode("ascii")


def format_time(value: datetime) -> str:
    """Fixed-width UTC text; a naive datetime is refused."""
    if value.tzinfo is None:
        raise AuditSchemaError("audit entry refused: field 'time' must be timezone-aware (UTC)")
    return value.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_time(value: str) -> datetime:
    return datetime.strptime(value, _TIME_FORMAT).replace(tzinfo=UTC)


def _refuse(field: str, why: str) -> AuditSchemaError:
    return AuditSchemaError(f"audit entry refused: field {field!r} {why} (value not shown)")


def _ident(fields: Mapping[str, Any], name: str) -> str | None:
    value = fields.get(name)
    pattern, shown, optional = _PATTERNS[name]
    if value is None:
        if optional:
            return None
        raise _refuse(name, "is required")
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise _refuse(name, f"must match {shown}")
    return value


def _decision(fields: Mapping[str, Any]) -> Decision | None:
    raw = fields.get("decision")
    if raw is None:
        if fields.get("allowed") is None:
            if fields.get("rule_id") is not None or fields.get("policy_version") is not None:
                raise _refuse("allowed", "is required when rule_id or policy_version is given")
            return None
        raw = {k: fields.get(k) for k in ("allowed", "rule_id", "policy_version")}
    elif any(fields.get(k) is not None for k in ("allowed", "rule_id", "policy_version")):
        raise _refuse("decision", "is given twice (as 'decision' and as flat fields)")
    if isinstance(raw, Decision):
        raw = {"allowed": raw.allowed, "rule_id": raw.rule_id, "policy_version": raw.policy_version}
    if not isinstance(raw, Mapping) or set(raw) - {"allowed", "rule_id", "policy_version"}:
        raise _refuse(
            "decision", "must be a Decision or a mapping of allowed/rule_id/policy_version"
        )
    allowed = raw.get("allowed")
    if not isinstance(allowed, bool):
        raise _refuse("decision.allowed", "must be true or false")
    return Decision(
        allowed=allowed,
        rule_id=_ident(raw, "rule_id"),
        policy_version=_ident(raw, "policy_version"),
    )


def _names(value: Any, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise _refuse(field, "must be a list of names")
    items = list(value)
    if not all(isinstance(v, str) for v in items):
        raise _refuse(field, "must be a list of names")
    return tuple(sorted(set(items)))


def build_entry(
    fields: Mapping[str, Any],
    *,
    seq: int,
    taxonomy: Taxonomy | None = None,
    scrubber: Scrubber | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    """Validate ``fields`` into an :class:`AuditEntry` (hashes left empty) or refuse it."""
    return EntryBuilder(taxonomy=taxonomy, scrubber=scrubber, now=now).build(fields, seq=seq)


class EntryBuilder:
    """:func:`build_entry` for many entries: the same checks in the same order, with the pure
    ones (an identifier's pattern, a category list, a decision, the time text) remembered, so a
    batch whose entries differ in one field pays for the others once."""

    __slots__ = ("_cats", "_decisions", "_idents", "_now", "_now_text", "scrubber", "taxonomy")

    def __init__(
        self,
        *,
        taxonomy: Taxonomy | None = None,
        scrubber: Scrubber | None = None,
        now: datetime | None = None,
    ) -> None:
        self.taxonomy = taxonomy
        self.scrubber = scrubber
        self._now = now
        self._now_text: str | None = None
        self._idents: set[tuple[str, str]] = set()
        self._cats: dict[tuple[str, ...], tuple[tuple[str, ...], frozenset[str]]] = {}
        self._decisions: dict[tuple[bool, str | None, str | None], Decision] = {}

    def _ident(self, fields: Mapping[str, Any], name: str) -> str | None:
        value = fields.get(name)
        if type(value) is str and (name, value) in self._idents:
            return value
        checked = _ident(fields, name)
        if checked is not None:
            self._idents.add((name, checked))
        return checked

    def _categories(self, value: Any, tax: Taxonomy) -> tuple[tuple[str, ...], frozenset[str]]:
        key = tuple(value) if type(value) in (list, tuple) else None
        if key is not None and all(type(v) is str for v in key):
            hit = self._cats.get(key)
            if hit is not None:
                return hit
        else:
            key = None
        categories = _names(value, "categories")
        for name in categories:
            try:
                tax.get(name)
            except UnknownCategoryError:
                raise _refuse(
                    "categories", "holds a name that is not a taxonomy category"
                ) from None
        out = categories, frozenset(tax.class_of(c).value for c in categories)
        if key is not None:
            self._cats[key] = out
        return out

    def _decision(self, fields: Mapping[str, Any]) -> Decision | None:
        if fields.get("decision") is None:
            allowed, rule, version = (
                fields.get(k) for k in ("allowed", "rule_id", "policy_version")
            )
            if (
                type(allowed) is bool
                and (rule is None or type(rule) is str)
                and (version is None or type(version) is str)
            ):
                key = (allowed, rule, version)
                hit = self._decisions.get(key)
                if hit is None:
                    hit = _decision(fields)
                    if hit is not None:
                        self._decisions[key] = hit
                return hit
        return _decision(fields)

    def _time(self, fields: Mapping[str, Any]) -> str:
        when = fields.get("time")
        if when is None:
            if self._now is None:
                when = datetime.now(UTC)
            else:
                if self._now_text is None:
                    self._now_text = format_time(self._now)
                return self._now_text
        if not isinstance(when, datetime):
            raise _refuse("time", "must be a timezone-aware datetime")
        return format_time(when)

    def build(self, fields: Mapping[str, Any], *, seq: int) -> AuditEntry:
        """Validate ``fields`` into an :class:`AuditEntry` (hashes left empty) or refuse it."""
        entry = self._check(fields, seq)
        if self.scrubber is not None:
            self._refuse_found(self.scrubber(entry.body()))
        return entry

    def build_many(self, items: Iterable[Mapping[str, Any]], *, seq: int = 0) -> list[AuditEntry]:
        """:meth:`build` of every item (all refused if one is), faster for a batch whose entries
        differ only in ``subject_ref`` (a vault write batch): an item equal to an earlier one
        but for its ``subject_ref`` reuses that one's checked entry and has only its
        ``subject_ref`` checked. A scrubber with a ``scrub_many`` method (the detector's) scans
        the whole batch in one call; any other scrubber is called per entry."""
        out: list[AuditEntry] = []
        for tpl, ref in self.build_drafts(items):
            if ref == tpl.subject_ref:
                out.append(tpl if tpl.seq == seq else dataclasses.replace(tpl, seq=seq))
            else:
                entry = AuditEntry(
                    seq, tpl.time, tpl.actor_id, tpl.actor_role, tpl.action, ref, tpl.categories,
                    tpl.classes, tpl.decision, tpl.purpose, tpl.recipient, tpl.outcome,
                    tpl.request_id,
                )  # fmt: skip
                out.append(entry)
        return out

    def build_drafts(
        self, items: Iterable[Mapping[str, Any]]
    ) -> list[tuple[AuditEntry, str | None]]:
        """:meth:`build_many` as ``(template, subject_ref)`` pairs: the entry of each item is
        ``template`` with that ``subject_ref`` (items that differ only in ``subject_ref`` share
        one template object, the same each time). What the log's append chains, so a batch
        builds each entry once."""
        out: list[tuple[AuditEntry, str | None]] = []
        bodies: list[dict[str, Any]] = []  # one per distinct entry, in order: what is scrubbed
        scrubbed: set[tuple[int, str | None]] = set()
        templates: dict[tuple[Any, ...], tuple[AuditEntry, dict[str, Any]]] = {}
        for fields in items:
            key = self._template_key(fields)
            hit = None if key is None else templates.get(key)
            if hit is None:
                entry = self._check(fields, 0)
                body = entry.body()
                if key is not None:
                    templates[key] = (entry, body)
                out.append((entry, entry.subject_ref))
                scrubbed.add((id(entry), entry.subject_ref))
                bodies.append(body)
            else:
                ref = self._ident(fields, "subject_ref")
                entry, body = hit
                out.append((entry, ref))
                if (id(entry), ref) not in scrubbed:  # the same entry again: scrubbed once
                    scrubbed.add((id(entry), ref))
                    body = body.copy()
                    body["subject_ref"] = ref
                    bodies.append(body)
        scrubber = self.scrubber
        if scrubber is not None and out:
            many = getattr(scrubber, "scrub_many", None)
            if callable(many):
                for found in many(bodies):
                    self._refuse_found(found)
            else:
                for body in bodies:
                    self._refuse_found(scrubber(body))
        return out

    def _template_key(self, fields: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """What makes two items give the same entry but for ``subject_ref``: the other fields'
        names, values and value types (lists as tuples; a decision's ``allowed`` type too, as
        ``1 == True``), or ``None`` if that cannot be a dict key (the item is then checked in
        full). Without ``time`` the entry takes the builder's ``now``; with no ``now`` either,
        each entry takes its own time and no item is reused."""
        if type(fields) is not dict or ("time" not in fields and self._now is None):
            return None
        rest = fields.copy()
        rest.pop("subject_ref", None)
        decision = rest.get("decision")
        if decision is not None:
            rest["decision"] = (decision, type(getattr(decision, "allowed", None)))
        values = tuple(rest.values())
        key = (tuple(rest), values, tuple(map(type, values)))
        try:
            hash(key)
        except TypeError:
            if not any(type(v) is list for v in values):
                return None
            values = tuple(tuple(v) if type(v) is list else v for v in values)
            key = (tuple(rest), values, tuple(map(type, values)))
            try:
                hash(key)
            except TypeError:
                return None
        return key

    def _refuse_found(self, found: Iterable[str]) -> None:
        names = sorted({str(c) for c in found})
        if names:
            tax = self.taxonomy or default_taxonomy()
            safe = [c for c in names if c in tax]
            raise AuditSchemaError(
                "audit entry refused: it carries personal data "
                f"({', '.join(safe) or 'unclassified'}); log an opaque reference instead"
            )

    def _check(self, fields: Mapping[str, Any], seq: int) -> AuditEntry:
        """Every check of :meth:`build` but the scrubber."""
        if not isinstance(fields, Mapping):
            raise AuditSchemaError("audit entry refused: entry fields must be a mapping")
        unknown = [k for k in fields if k not in ENTRY_FIELDS]
        if unknown:
            shown = [k for k in unknown if isinstance(k, str) and _NAME.fullmatch(k)]
            raise AuditSchemaError(
                f"audit entry refused: unknown field(s) {sorted(shown) or '(unnamed)'}; "
                f"allowed fields are {sorted(ENTRY_FIELDS)}"
            )
        tax = self.taxonomy or default_taxonomy()
        action = fields.get("action")
        if isinstance(action, Action):
            action = action.value
        if not isinstance(action, str) or action not in ACTIONS:
            raise _refuse("action", f"must be one of {sorted(ACTIONS)}")
        categories, derived = self._categories(fields.get("categories"), tax)
        given = fields.get("classes")
        if given is None:
            classes = tuple(sorted(derived))
        else:
            names = _names(given, "classes")
            known = {c.value for c in DataClass}
            if not set(names) <= known:
                raise _refuse("classes", f"must hold class names {sorted(known)}")
            classes = tuple(sorted(derived | set(names)))
        outcome = fields.get("outcome", "ok")
        if outcome not in OUTCOMES:
            raise _refuse("outcome", f"must be one of {sorted(OUTCOMES)}")
        entry = AuditEntry(
            seq=seq,
            time=self._time(fields),
            actor_id=self._ident(fields, "actor_id") or "",
            actor_role=self._ident(fields, "actor_role") or "",
            action=action,
            subject_ref=self._ident(fields, "subject_ref"),
            categories=categories,
            classes=classes,
            decision=self._decision(fields),
            purpose=self._ident(fields, "purpose"),
            recipient=self._ident(fields, "recipient"),
            outcome=str(outcome),
            request_id=self._ident(fields, "request_id"),
        )
        return entry
