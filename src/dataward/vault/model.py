"""The vault's small values: who acts, what comes back, and how values are masked."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection

from dataward.detect.model import Finding
from dataward.errors import InputError
from dataward.policy.model import Decision
from dataward.taxonomy import Action, Taxonomy

__all__ = [
    "Actor",
    "AuditSink",
    "DecisionMaker",
    "FieldInfo",
    "FieldValue",
    "FindingSource",
    "mask_value",
]

_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,127}")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


def check_id(value: str, what: str) -> str:
    """An identifier that may appear in the audit log (subject id, actor id, recipient)."""
    if not isinstance(value, str) or _ID.fullmatch(value) is None:
        raise InputError(
            f"{what} must be 1-128 characters of letters, digits and _ . : - "
            "(an opaque reference, never a personal value such as an e-mail address)"
        )
    return value


def check_field(value: str) -> str:
    if not isinstance(value, str) or _FIELD.fullmatch(value) is None:
        raise InputError(
            "a field name must start with a letter and hold up to 128 letters, digits, _ . -"
        )
    return value


def check_name(value: str, what: str) -> str:
    if not isinstance(value, str) or _NAME.fullmatch(value) is None:
        raise InputError(f"{what} must be a lower-case name like 'support' or 'contract'")
    return value


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: an opaque id and a role of the policy (``support``, ``dpm``, ...)."""

    id: str
    role: str

    def __post_init__(self) -> None:
        check_id(self.id, "an actor id")
        check_name(self.role, "a role")


@dataclass(frozen=True, slots=True)
class FieldValue:
    """A value as the policy lets the caller see it.

    ``value`` is ``None`` when the class is never returned in clear (high class: use
    :meth:`Vault.verify`). ``masked`` is true when the mask obligation applied.
    """

    field: str
    category: str
    data_class: str
    value: str | None
    masked: bool = False
    protected: bool = False
    state: str = "active"

    def display(self) -> str:
        if self.value is None:
            return "[protected: never shown; use verify]"
        return self.value


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """What the vault holds about one field (no value): for export and lifecycle reports."""

    field: str
    category: str
    data_class: str
    purpose: str
    state: str
    version: int
    stored_at: datetime
    archive_due: datetime | None
    destroy_due: datetime | None
    protection: str
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)


class DecisionMaker(Protocol):
    """What the vault needs from the policy engine (``dataward.policy.Policy``)."""

    @property
    def taxonomy(self) -> Taxonomy: ...

    @property
    def purposes(self) -> Mapping[str, str]: ...

    def decide(
        self,
        *,
        action: Action,
        category: str,
        role: str,
        purpose: str,
        recipient: str | None = None,
    ) -> Decision: ...


class FindingSource(Protocol):
    """What the vault needs from the detector (``dataward.detect.Detector``)."""

    def detect(self, text: str) -> Sequence[Finding]: ...


class AuditSink(Protocol):
    """What the vault needs from the audit log: append inside the caller's transaction."""

    def append(self, entry_fields: Mapping[str, Any], *, conn: Connection | None = None) -> Any: ...

    def append_many(
        self, items: Iterable[Mapping[str, Any]], *, conn: Connection | None = None
    ) -> Any: ...


def mask_value(category: str, value: str) -> str:
    """A masked form that keeps just enough to recognise a value (never enough to use it)."""
    if category == "contact.email" and "@" in value:
        local, _, domain = value.rpartition("@")
        return f"{local[:1]}***@{domain}"
    digits = [c for c in value if c.isalnum()]
    if len(digits) >= 8:
        keep = "".join(digits[-4:] if category != "contact.phone" else digits[-2:])
        return "*" * (len(digits) - len(keep)) + keep
    return "*" * max(len(value), 4)
