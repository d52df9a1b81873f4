"""Table-driven pattern recognizers: one :class:`PatternSpec` per identifier, data not code.

A spec is an RE2 pattern (applied to UTF-8 bytes, so linear in the input), an optional validator
(check digits, checksums, ranges), context words that raise the score or are required, and a
priority used when findings overlap. :class:`PatternRecognizer` groups specs and implements the
:class:`~dataward.detect.model.Recognizer` protocol; the :class:`~dataward.detect.Detector`
compiles the specs of every pattern recognizer into one prefilter so text without candidates
costs one pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import re2

from dataward.detect.model import Finding, new_finding
from dataward.taxonomy import DataClass, default_taxonomy

__all__ = ["Candidate", "PatternRecognizer", "PatternSpec", "Validator", "compile_re2"]

#: ``validator(data, start, end) -> score or None``: ``data`` is the UTF-8 input, the span is the
#: candidate's byte span. ``None`` rejects the candidate; a float replaces the spec's score.
Validator = Callable[[bytes, int, int], "float | None"]

_UNANCHORED: Any = re2._Anchor.UNANCHORED
_CONTEXT_BEFORE = 64
_CONTEXT_AFTER = 32


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
    _compiled: Any = field(default=None, init=False, repr=False, compare=False)
    _context_bytes: tuple[bytes, ...] = field(default=(), init=False, repr=False, compare=False)
    _class: DataClass | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", compile_re2(self.regex))
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
        group = self.group
        validator = self.validator
        ctx_words = self.context
        ctx_bytes = self._context_bytes
        for spans in _iter_spans(self._compiled, data):
            start, end = spans[group]
            if start < 0 or start == end:
                continue
            score = self.score
            if validator is not None:
                checked = validator(data, start, end)
                if checked is None:
                    continue
                score = checked
            seen: tuple[str, ...] = ()
            if ctx_words:
                m_start, m_end = spans[0]
                lo = max(0, min(start, m_start) - _CONTEXT_BEFORE)
                hi = max(end, m_end) + _CONTEXT_AFTER
                window = lowered[lo:hi] if lowered is not None else data[lo:hi].lower()
                seen = tuple(w for w, b in zip(ctx_words, ctx_bytes, strict=True) if b in window)
                if seen:
                    score = max(score, self.context_score)
                elif self.context_required:
                    continue
            yield (start, end, self, score, seen)


def _iter_spans(compiled: Any, data: bytes) -> Iterator[Sequence[tuple[int, int]]]:
    """The group spans of successive non-overlapping matches (RE2's own loop, without the
    per-match wrapper objects of ``finditer``)."""
    match = compiled._regexp.Match
    pos = 0
    end = len(data)
    while pos <= end:
        spans = match(_UNANCHORED, data, pos, end)
        m_start, m_end = spans[0]
        if m_start < 0:
            return
        yield spans
        pos = m_end if m_end > pos else pos + 1


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
    text: str, data: bytes, cands: list[Candidate], base: int = 0
) -> Iterator[Finding]:
    """Convert byte-offset candidates to :class:`Finding` with ``str`` indices (+ ``base``)."""
    if not cands:
        return
    if len(data) == len(text):  # ASCII: byte offsets are string indices
        for c in cands:
            yield _finding(c, base + c[0], base + c[1])
        return
    offsets = sorted({o for c in cands for o in (c[0], c[1])})
    to_char: dict[int, int] = {}
    prev_b = 0
    prev_c = 0
    for off in offsets:
        prev_c += len(data[prev_b:off].decode("utf-8", "surrogatepass"))
        prev_b = off
        to_char[off] = prev_c
    for c in cands:
        yield _finding(c, base + to_char[c[0]], base + to_char[c[1]])


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
