"""Between :class:`AuditEntry` and table rows; canonical bytes straight from a row (fast path)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select

from dataward.audit.entry import ENTRY_VERSION, AuditEntry, Decision
from dataward.db.schema import audit_entries as T  # noqa: N812 - short table alias, SQLAlchemy idiom

__all__ = [
    "CHAIN_COLUMNS",
    "CONTENT_COLUMNS",
    "chain_select",
    "entry_from_row",
    "entry_to_row",
    "row_canonical",
    "row_pruned",
]

_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode

CHAIN_COLUMNS = (
    T.c.seq,
    T.c.occurred_at,
    T.c.actor_id,
    T.c.actor_role,
    T.c.action,
    T.c.subject_ref,
    T.c.categories,
    T.c.classes,
    T.c.allowed,
    T.c.rule_id,
    T.c.policy_version,
    T.c.purpose,
    T.c.recipient,
    T.c.outcome,
    T.c.request_id,
    T.c.prev_hash,
    T.c.entry_hash,
    T.c.leaf_hash,
)


#: What retention removes from a pruned entry (seq, time and the hashes stay).
CONTENT_COLUMNS = CHAIN_COLUMNS[2:15]


def row_pruned(r: Sequence[Any]) -> bool:
    """A chain row whose content was removed by retention: every content column is NULL."""
    return r[1] is not None and all(r[i] is None for i in range(2, 15))


def chain_select() -> Select[Any]:
    return select(*CHAIN_COLUMNS).order_by(T.c.seq)


def _join(names: Sequence[str]) -> str:
    return f",{','.join(names)}," if names else ""


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    if value == "":
        return []
    if len(value) < 3 or value[0] != "," or value[-1] != ",":
        return None
    return value[1:-1].split(",")


def entry_to_row(e: AuditEntry, leaf: bytes) -> dict[str, Any]:
    d = e.decision
    return {
        "seq": e.seq,
        "occurred_at": e.time,
        "actor_id": e.actor_id,
        "actor_role": e.actor_role,
        "action": e.action,
        "subject_ref": e.subject_ref,
        "categories": _join(e.categories),
        "classes": _join(e.classes),
        "allowed": None if d is None else d.allowed,
        "rule_id": None if d is None else d.rule_id,
        "policy_version": None if d is None else d.policy_version,
        "purpose": e.purpose,
        "recipient": e.recipient,
        "outcome": e.outcome,
        "request_id": e.request_id,
        "prev_hash": e.prev_hash,
        "entry_hash": e.entry_hash,
        "leaf_hash": leaf,
    }


_DECISION = '{"allowed":%s,"policy_version":%s,"rule_id":%s}'
_TEMPLATE = (
    '{"action":"%s","actor_id":"%s","actor_role":"%s","categories":%s,"classes":%s,'
    '"decision":%s,"outcome":"%s","purpose":%s,"recipient":%s,"request_id":%s,"seq":%d,'
    '"subject_ref":%s,"time":"%s","v":' + str(ENTRY_VERSION) + "}"
)


def row_canonical(r: Sequence[Any]) -> bytes | None:
    """Canonical bytes of a chain row, or ``None`` if its stored fields are malformed.

    The common case (every text plain printable ASCII) is formatted directly, byte for byte what
    :func:`json.dumps` gives (a test holds both equal); anything else takes the JSON encoder.
    """
    cats, classes, allowed = r[6], r[7], r[8]
    try:
        texts = (r[1], r[2], r[3], r[4], r[5], cats, classes, r[9], r[10], r[11], r[12], r[13])
        joined = "".join(filter(None, (*texts, r[14])))
        # A quote or backslash could move field boundaries: the JSON encoder escapes those.
        # Control or non-ASCII characters cannot: such bytes never match a stored hash.
        safe = '"' not in joined and "\\" not in joined and type(r[0]) is int
    except TypeError:
        safe = False
    if not safe or None in (cats, classes, r[1], r[2], r[3], r[4], r[13]):
        return _row_canonical_json(r)
    if cats:
        if len(cats) < 3 or cats[0] != "," or cats[-1] != ",":
            return None
        cats_j = '["' + cats[1:-1].replace(",", '","') + '"]'
    else:
        cats_j = "[]"
    if classes:
        if len(classes) < 3 or classes[0] != "," or classes[-1] != ",":
            return None
        classes_j = '["' + classes[1:-1].replace(",", '","') + '"]'
    else:
        classes_j = "[]"
    rule, version = r[9], r[10]
    if allowed is None:
        if rule is not None or version is not None:
            return None
        decision = "null"
    else:
        decision = _DECISION % (
            "true" if allowed else "false",
            "null" if version is None else '"' + version + '"',
            "null" if rule is None else '"' + rule + '"',
        )
    purpose, recipient, request, subject = r[11], r[12], r[14], r[5]
    return (
        _TEMPLATE
        % (
            r[4],
            r[2],
            r[3],
            cats_j,
            classes_j,
            decision,
            r[13],
            "null" if purpose is None else '"' + purpose + '"',
            "null" if recipient is None else '"' + recipient + '"',
            "null" if request is None else '"' + request + '"',
            r[0],
            "null" if subject is None else '"' + subject + '"',
            r[1],
        )
    ).encode("ascii", "replace")


def _row_canonical_json(r: Sequence[Any]) -> bytes | None:
    cats = _split(r[6])
    classes = _split(r[7])
    allowed = r[8]
    if cats is None or classes is None:
        return None
    if allowed is None:
        if r[9] is not None or r[10] is not None:
            return None
        decision = None
    else:
        decision = {"allowed": bool(allowed), "policy_version": r[10], "rule_id": r[9]}
    try:
        return _dumps(
            {
                "action": r[4],
                "actor_id": r[2],
                "actor_role": r[3],
                "categories": cats,
                "classes": classes,
                "decision": decision,
                "outcome": r[13],
                "purpose": r[11],
                "recipient": r[12],
                "request_id": r[14],
                "seq": r[0],
                "subject_ref": r[5],
                "time": r[1],
                "v": ENTRY_VERSION,
            }
        ).encode("ascii")
    except UnicodeEncodeError:  # JSON escapes non-ASCII, so only surrogates land here
        return None


def entry_from_row(r: Sequence[Any]) -> AuditEntry:
    allowed = r[8]
    return AuditEntry(
        seq=int(r[0]),
        time=r[1],
        actor_id=r[2],
        actor_role=r[3],
        action=r[4],
        subject_ref=r[5],
        categories=tuple(_split(r[6]) or ()),
        classes=tuple(_split(r[7]) or ()),
        decision=None if allowed is None else Decision(bool(allowed), r[9], r[10]),
        purpose=r[11],
        recipient=r[12],
        outcome=r[13],
        request_id=r[14],
        prev_hash=bytes(r[15]),
        entry_hash=bytes(r[16]),
    )
