"""The values the policy engine hands out: decisions, obligations, retention, processors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from dataward.taxonomy import Action, DataClass

__all__ = [
    "Decision",
    "ExplainStep",
    "Explanation",
    "IsoDuration",
    "Obligation",
    "PolicyMetadata",
    "Processor",
    "Retention",
    "Rule",
]

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


class Obligation(StrEnum):
    """What the caller must do when an action is allowed."""

    ENCRYPT = "encrypt"
    HASH = "hash"
    TOKENIZE = "tokenize"
    MASK = "mask"
    AUDIT = "audit"


@dataclass(frozen=True, slots=True, order=True)
class IsoDuration:
    """An ISO-8601 duration such as ``P3Y``, ``P6M`` or ``P1Y6M``; calendar-aware."""

    years: int = 0
    months: int = 0
    days: int = 0
    seconds: int = 0

    @classmethod
    def parse(cls, text: str) -> IsoDuration:
        """Parse ``PnYnMnWnDTnHnMnS`` (integers only); ``ValueError`` names the accepted form."""
        m = _DURATION.match(text.strip().upper()) if isinstance(text, str) else None
        if m is None:
            raise ValueError(
                f"{text!r} is not an ISO-8601 duration; write e.g. P3Y, P6M, P90D or P1Y6M"
            )
        g = {k: int(v) if v else 0 for k, v in m.groupdict().items()}
        return cls(
            years=g["years"],
            months=g["months"],
            days=g["weeks"] * 7 + g["days"],
            seconds=g["hours"] * 3600 + g["minutes"] * 60 + g["seconds"],
        )

    @property
    def approx_days(self) -> float:
        """Length in days, with 365.25-day years and 30.44-day months (for comparisons)."""
        return self.years * 365.25 + self.months * 30.4375 + self.days + self.seconds / 86400

    def after(self, start: datetime) -> datetime:
        """``start`` plus this duration (months clamp to the last day of the month)."""
        total_months = start.month - 1 + self.months + self.years * 12
        year, month = start.year + total_months // 12, total_months % 12 + 1
        day = min(start.day, _days_in_month(year, month))
        return start.replace(year=year, month=month, day=day) + timedelta(
            days=self.days, seconds=self.seconds
        )

    def __add__(self, other: IsoDuration) -> IsoDuration:
        return IsoDuration(
            self.years + other.years,
            self.months + other.months,
            self.days + other.days,
            self.seconds + other.seconds,
        )

    def __str__(self) -> str:
        out = "P"
        out += f"{self.years}Y" if self.years else ""
        out += f"{self.months}M" if self.months else ""
        out += f"{self.days}D" if self.days else ""
        if self.seconds:
            h, rest = divmod(self.seconds, 3600)
            mi, s = divmod(rest, 60)
            out += "T" + (f"{h}H" if h else "") + (f"{mi}M" if mi else "") + (f"{s}S" if s else "")
        return out if out != "P" else "P0D"


def _days_in_month(year: int, month: int) -> int:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


@dataclass(frozen=True, slots=True)
class Retention:
    """How long data is kept: ``keep`` in active storage, then ``archive`` in the archive.

    Both count from the end of the client relation (or from collection for traffic and logs).
    ``archive`` of ``None`` means the data is never archived: it is destroyed when ``keep`` ends.
    """

    keep: IsoDuration
    archive: IsoDuration | None = None

    @property
    def archived(self) -> bool:
        return self.archive is not None

    @property
    def total(self) -> IsoDuration:
        """Time from the start of the clock to destruction."""
        return self.keep + self.archive if self.archive is not None else self.keep

    def __str__(self) -> str:
        if self.archive is None:
            return f"keep {self.keep}, then destroy"
        return f"keep {self.keep}, archive {self.archive}, then destroy"


@dataclass(frozen=True, slots=True)
class Processor:
    """A registered processor: the only kind of recipient personal data may be shared with."""

    name: str
    purpose: str
    categories: frozenset[str]
    dpa: str
    country: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class PolicyMetadata:
    version: str
    effective: date
    next_review: date
    owner: str

    def overdue(self, today: date | None = None) -> bool:
        """True when the annual review date has passed."""
        return (today or date.today()) > self.next_review


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled rule of a policy file, with the line it starts on."""

    id: str
    effect: str  # "allow" | "deny"
    actions: tuple[Action, ...]
    data_class: DataClass | None
    categories: tuple[str, ...]
    roles: frozenset[str] | None  # None = any role
    purposes: frozenset[str] | None  # None = any purpose
    recipients: frozenset[str] | None  # None = any recipient
    obligations: frozenset[Obligation]
    retention: Retention | None
    cites: str
    line: int = 0
    description: str = ""

    @property
    def allows(self) -> bool:
        return self.effect == "allow"

    @property
    def target(self) -> str:
        """``class high`` or ``category card.pan`` / ``categories a, b``, for messages."""
        if self.data_class is not None:
            return f"class {self.data_class.value}"
        word = "category" if len(self.categories) == 1 else "categories"
        return f"{word} {', '.join(self.categories)}"


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one request. Deny unless ``allowed``; obligations bind the caller."""

    allowed: bool
    rule_id: str
    reason: str
    obligations: frozenset[Obligation] = frozenset()
    retention: Retention | None = None
    policy_version: str = ""

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (obligations sorted, retention as ISO-8601 text)."""
        ret = self.retention
        return {
            "allowed": self.allowed,
            "effect": "allow" if self.allowed else "deny",
            "rule_id": self.rule_id,
            "reason": self.reason,
            "obligations": sorted(o.value for o in self.obligations),
            "retention": None
            if ret is None
            else {
                "keep": str(ret.keep),
                "archive": None if ret.archive is None else str(ret.archive),
            },
            "policy_version": self.policy_version,
        }


@dataclass(frozen=True, slots=True)
class ExplainStep:
    """One rule (or built-in guard) considered for a request, and why it did or did not apply."""

    rule_id: str
    applied: bool
    why: str
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Explanation:
    decision: Decision
    steps: tuple[ExplainStep, ...] = field(default_factory=tuple)

    def lines(self) -> list[str]:
        out = []
        for s in self.steps:
            mark = "->" if s.applied else "  "
            at = f" (line {s.line})" if s.line else ""
            out.append(f"{mark} {s.rule_id}{at}: {s.why}")
        return out
