"""The values and the extension point of detection: ``Finding`` and the ``Recognizer`` protocol.

A recognizer is data (patterns, lexicons, context words) plus validators. It is registered
explicitly in :mod:`dataward.detect.registry`; built-ins go through the same door as plug-ins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from dataward.taxonomy import DataClass

__all__ = ["Finding", "Recognizer", "new_finding"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of personal data found in a text.

    ``start``/``end`` are Python string indices into the text given to ``detect`` (``end``
    exclusive). ``explanation`` says why (pattern, validator outcome, context words seen); it
    never repeats the matched value.
    """

    start: int
    end: int
    category: str
    data_class: DataClass
    score: float
    detector: str
    explanation: str = ""
    context: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError("a finding needs 0 <= start < end")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError("a finding's score lies in [0, 1]")

    @property
    def length(self) -> int:
        return self.end - self.start

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of the ``dataward detect --jsonl`` contract."""
        return {
            "start": self.start,
            "end": self.end,
            "category": self.category,
            "class": self.data_class.value,
            "score": round(self.score, 4),
            "detector": self.detector,
        }


_FIELDS = ("start", "end", "category", "data_class", "score", "detector", "explanation", "context")
_SETTERS: tuple[Any, ...] = tuple(vars(Finding)[name].__set__ for name in _FIELDS)


def new_finding(
    start: int,
    end: int,
    category: str,
    data_class: DataClass,
    score: float,
    detector: str,
    explanation: str = "",
    context: tuple[str, ...] = (),
    *,
    _new: Any = object.__new__,
    _cls: type[Finding] = Finding,
    _set: tuple[Any, ...] = _SETTERS,
) -> Finding:
    """``Finding(...)`` at a third of the cost (the hot path makes millions on big logs): same
    checks, same value; the slots are filled directly instead of through the frozen dataclass
    init (the slot setters are bound once, as defaults, not looked up per call)."""
    if not (0 <= start < end and 0.0 <= score <= 1.0):
        return Finding(start, end, category, data_class, score, detector, explanation, context)
    s0, s1, s2, s3, s4, s5, s6, s7 = _set
    f: Finding = _new(_cls)
    s0(f, start)
    s1(f, end)
    s2(f, category)
    s3(f, data_class)
    s4(f, score)
    s5(f, detector)
    s6(f, explanation)
    s7(f, context)
    return f


@runtime_checkable
class Recognizer(Protocol):
    """What a detector plug-in provides.

    ``id`` is stable (it appears in findings); ``categories`` lists the taxonomy categories it may
    emit; ``languages`` the ISO 639-1 codes it supports (empty = language-independent).
    ``find`` must run in time linear in ``len(text)`` (RE2, Hyperscan, Aho-Corasick; never a
    backtracking regex on input) and must not raise on any ``str``.
    A recognizer may also carry an ``int`` attribute ``priority`` (default 50, the scale of
    :class:`~dataward.detect.PatternSpec`): the :class:`~dataward.detect.Detector` ranks
    overlapping findings by it first.
    """

    id: str
    categories: frozenset[str]
    languages: frozenset[str]

    def find(self, text: str, language: str | None = None) -> Iterable[Finding]: ...
