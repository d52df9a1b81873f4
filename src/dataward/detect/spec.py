"""Table-driven pattern recognizers: one :class:`PatternSpec` per identifier, data not code.

A spec is an RE2 pattern (applied to UTF-8 bytes, so linear in the input), an optional validator
(check digits, checksums, ranges), context words that raise the score or are required, and a
priority used when findings overlap. :class:`PatternRecognizer` groups specs and implements the
:class:`~dataward.detect.model.Recognizer` protocol; the :class:`~dataward.detect.Detector`
compiles the specs of every pattern recognizer into one prefilter so text without candidates
costs one pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import re2

from dataward.detect.model import _SETTERS, Finding, new_finding
from dataward.taxonomy import DataClass, default_taxonomy

__all__ = [
    "Candidate",
    "PatternRecognizer",
    "PatternSpec",
    "Validator",
    "compile_re2",
    "drop_upper_bounds",
]

#: ``validator(data, start, end) -> score or None``: ``data`` is the UTF-8 input, the span is the
#: candidate's byte span. ``None`` rejects the candidate; a float replaces the spec's score.
Validator = Callable[[bytes, int, int], "float | None"]

_UNANCHORED: Any = re2._Anchor.UNANCHORED
_ANCHOR_START: Any = re2._Anchor.ANCHOR_START
_COUNTED: Final[Any] = re2.compile(r"\{(\d+),\d+\}")
_CONTEXT_BEFORE = 64
_CONTEXT_AFTER = 32


def drop_upper_bounds(pattern: str) -> str:
    """``pattern`` with every counted repetition ``{m,n}`` turned into ``{m,}``: it matches
    wherever ``pattern`` does (a :attr:`PatternSpec.finder`). For shipped patterns, whose braces
    are all repetition counts."""
    relaxed: str = _COUNTED.sub(r"{\1,}", pattern)
    return relaxed


def compile_re2(pattern: str) -> Any:
    """Compile ``pattern`` with RE2 for matching UTF-8 bytes (linear time, no backtracking)."""
    opts = re2.Options()
    opts.max_mem = 64 << 20
    return re2.compile(pattern.encode("utf-8"), options=opts)


#: A validated candidate with byte offsets, before conversion to a :class:`Finding`:
#: ``(start, end, spec, score, context words seen)`` (a tuple: millions are made on big logs).
Candidate = tuple[int, int, "PatternSpec", float, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class PatternSpec:
    """One pattern: ``regex`` (RE2 syntax), the ``group`` whose span is the finding, and checks.

    ``context`` words (lower case, any of EN/FR/DE/IT) seen within a few dozen characters raise
    the score to ``context_score``; with ``context_required`` a candidate without them is dropped.
    ``prefilter`` is a cheaper pattern for the shared Hyperscan prefilter (default: ``regex``).
    ``finder`` is an optional looser RE2 pattern that matches at every position where ``regex``
    starts a match (e.g. ``regex`` with the upper bounds of its counted repetitions dropped, see
    :func:`drop_upper_bounds`): it finds the next start fast, then ``regex`` runs anchored there.
    For patterns whose counted runs make RE2's DFA give up (``{2,199}``: 8 MB/s instead of
    hundreds); the matches are the same.
    ``confirm`` marks a spec whose prefilter often fires on text where ``regex`` finds nothing
    (digit runs in logs for card, ID and phone numbers): the
    :class:`~dataward.detect.Detector` then asks one RE2 set of all such specs which of them
    match at all in a big window before running them one by one (see
    :mod:`dataward.detect.confirm`); the matches are the same.
    """

    id: str
    category: str
    regex: str
    score: float
    explanation: str
    group: int = 0
    validator: Validator | None = None
    context: tuple[str, ...] = ()
    context_required: bool = False
    context_score: float = 0.95
    priority: int = 50
    prefilter: str | None = None
    languages: frozenset[str] = frozenset()
    finder: str | None = None
    confirm: bool = False
    _compiled: Any = field(default=None, init=False, repr=False, compare=False)
    _finder: Any = field(default=None, init=False, repr=False, compare=False)
    _context_bytes: tuple[bytes, ...] = field(default=(), init=False, repr=False, compare=False)
    _class: DataClass | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", compile_re2(self.regex))
        if self.finder is not None:
            object.__setattr__(self, "_finder", compile_re2(self.finder))
        words = tuple(w.lower() for w in self.context)
        object.__setattr__(self, "context", words)
        object.__setattr__(self, "_context_bytes", tuple(w.encode("utf-8") for w in words))
        known = default_taxonomy().categories.get(self.category)
        # A category of a user's taxonomy gets its class when a Detector is built with it.
        object.__setattr__(self, "_class", known.data_class if known else None)

    def bind_class(self, data_class: DataClass) -> None:
        """Record the class of this spec's category (from the detector's taxonomy)."""
        object.__setattr__(self, "_class", data_class)

    @property
    def compiled(self) -> Any:
        return self._compiled

    def candidates(self, data: bytes, lowered: bytes | None = None) -> Iterator[Candidate]:
        """Validated candidates of this spec in ``data`` (UTF-8 bytes), with byte offsets."""
        out: list[Candidate] = []
        self.collect(data, lowered, out)
        yield from out

    def collect(self, data: bytes, lowered: bytes | None, out: list[Candidate]) -> None:
        """Append the validated candidates of this spec in ``data`` to ``out`` (the hot path of
        :meth:`candidates`: RE2's own match loop, no generator or wrapper object per match)."""
        match = self._compiled._regexp.Match
        group = self.group
        validator = self.validator
        ctx_words = self.context
        append = out.append
        base_score = self.score
        find = self._finder._regexp.Match if self._finder is not None else None
        pos = 0
        n = len(data)
        while pos <= n:
            if find is None:
                spans = match(_UNANCHORED, data, pos, n)
            else:
                # ``finder`` starts a match wherever ``regex`` does: no match of ``regex`` starts
                # before its leftmost start, so ``regex`` anchored there is the next match, if any.
                at = find(_UNANCHORED, data, pos, n)[0][0]
                if at < 0:
                    return
                spans = match(_ANCHOR_START, data, at, n)
                if spans[0][0] < 0:
                    pos = at + 1
                    continue
            m_start, m_end = spans[0]
            if m_start < 0:
                return
            pos = m_end if m_end > pos else pos + 1
            start, end = spans[group] if group else (m_start, m_end)
            if start < 0 or start == end:
                continue
            score = base_score
            if validator is not None:
                checked = validator(data, start, end)
                if checked is None:
                    continue
                score = checked
            if not ctx_words:
                append((start, end, self, score, ()))
                continue
            lo = max(0, min(start, m_start) - _CONTEXT_BEFORE)
            hi = max(end, m_end) + _CONTEXT_AFTER
            window = lowered[lo:hi] if lowered is not None else data[lo:hi].lower()
            seen = tuple(
                w for w, b in zip(ctx_words, self._context_bytes, strict=True) if b in window
            )
            if seen:
                score = max(score, self.context_score)
            elif self.context_required:
                continue
            append((start, end, self, score, seen))


class PatternRecognizer:
    """A :class:`~dataward.detect.model.Recognizer` made of :class:`PatternSpec` rows."""

    def __init__(self, id: str, specs: Iterable[PatternSpec]) -> None:
        self.id = id
        self.specs: tuple[PatternSpec, ...] = tuple(specs)
        self.categories = frozenset(s.category for s in self.specs)
        langs: set[str] = set()
        for s in self.specs:
            langs |= s.languages
        self.languages = frozenset(langs)

    def find(self, text: str, language: str | None = None) -> Iterator[Finding]:
        """Run every spec on ``text`` on its own (the Detector shares one prefilter instead)."""
        data = text.encode("utf-8", "surrogatepass")
        lowered = data.lower()
        cands = [c for s in self.specs for c in s.candidates(data, lowered)]
        yield from candidates_to_findings(text, data, cands)


_CLASS_CACHE: dict[str, DataClass] = {}


def class_for(category: str) -> DataClass:
    dc = _CLASS_CACHE.get(category)
    if dc is None:
        dc = default_taxonomy().class_of(category)
        _CLASS_CACHE[category] = dc
    return dc


def candidates_to_findings(
    text: str,
    data: bytes,
    cands: list[Candidate],
    base: int = 0,
    *,
    keep: tuple[float, int, int] | None = None,
) -> list[Finding]:
    """Convert byte-offset candidates to :class:`Finding` with ``str`` indices (+ ``base``).

    ``keep=(min_score, lo, hi)``: only the findings scoring at least ``min_score`` (capped at
    1.0) that start in ``[lo, hi)`` (after ``base``) are built; the others are dropped."""
    if not cands:
        return []
    minimum, lo, hi = keep if keep is not None else (float("-inf"), base, base + len(text) + 1)
    if len(data) == len(text):  # ASCII: byte offsets are string indices
        out: list[Finding] = []
        append = out.append
        new = _NEW_OBJECT
        s0, s1, s2, s3, s4, s5, s6, s7 = _SETTERS
        for start, end, spec, score, seen in cands:  # new_finding inlined: millions on big logs
            if score > 1.0:
                score = 1.0
            start += base
            if score < minimum or not lo <= start < hi:
                continue
            end += base
            if not (start < end and score >= 0.0):  # never from collect: the checked path
                append(_finding((start - base, end - base, spec, score, seen), start, end))
                continue
            f = new(Finding)
            s0(f, start)
            s1(f, end)
            s2(f, spec.category)
            s3(f, spec._class or class_for(spec.category))
            s4(f, score)
            s5(f, spec.id)
            if seen:
                s6(f, f"{spec.explanation}; context: {', '.join(seen)}")
            else:
                s6(f, spec.explanation)
            s7(f, seen)
            append(f)
        return out
    offsets = sorted({o for c in cands for o in (c[0], c[1])})
    to_char: dict[int, int] = {}
    prev_b = 0
    prev_c = 0
    for off in offsets:
        prev_c += len(data[prev_b:off].decode("utf-8", "surrogatepass"))
        prev_b = off
        to_char[off] = prev_c
    return [
        _finding(c, base + to_char[c[0]], base + to_char[c[1]])
        for c in cands
        if (c[3] if c[3] <= 1.0 else 1.0) >= minimum and lo <= base + to_char[c[0]] < hi
    ]


_NEW_OBJECT: Final[Any] = object.__new__


def _finding(c: Candidate, start: int, end: int) -> Finding:
    _s, _e, spec, score, seen = c
    expl = spec.explanation
    if seen:
        expl = f"{expl}; context: {', '.join(seen)}"
    return new_finding(
        start,
        end,
        spec.category,
        spec._class or class_for(spec.category),  # bound by the Detector
        score if score <= 1.0 else 1.0,
        spec.id,
        expl,
        seen,
    )
