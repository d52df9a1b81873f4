"""The forbidden categories in free text (EN/FR/DE/IT): curated lexicons, cues and guards.

One Aho-Corasick automaton over the case-folded text carries four kinds of keys: lexicon terms
(with their category, language and markers, see ``lexicons/sensitive.yaml``), context cues
("suffers from", "Mitglied", "vota"), guards (phrases that contain a term but are no sensitive
mention: "health check", "UNION SELECT", "third party") and the Swiss health-insurance card
prefix. One pass collects every hit; each term is then checked for word boundaries, case, guards
and cues. Linear in the length of the text.
"""

from __future__ import annotations

import bisect
import functools
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from dataward.detect.lexicons import fold, is_word_char, keep_best, load_lines, load_yaml
from dataward.detect.lexicons.scanner import Hit, Literal, LiteralScanner
from dataward.detect.model import Finding, new_finding
from dataward.taxonomy import DataClass, class_of

__all__ = ["SensitiveRecognizer"]

LANGUAGES = frozenset({"en", "fr", "de", "it"})
HEALTH = "sensitive.health"
_GENERAL = "general"
_ANY = "any"
_WINDOW_BEFORE = 60
_WINDOW_AFTER = 40
_MAX_PREFIX_TAIL = 30
_INSURANCE_PREFIX = "807"  # Swiss health-insurance card numbers: 807 + 17 digits
_INSURANCE_KEYWORDS = frozenset(
    {
        "versichertennummer",
        "versichertenkarte",
        "krankenkassenkarte",
        "carte vitale",
        "numéro d'assuré",
        "tessera sanitaria",
        "numero di assicurato",
        "health insurance number",
        "insurance card number",
    }
)
_SENTENCE_END = frozenset(".!?;\n")
_CUE_ACCEPTS_GENERAL = frozenset({HEALTH, "sensitive.sex_life", "sensitive.criminal"})


@dataclass(frozen=True, slots=True)
class _Term:
    category: str
    language: str
    length: int
    prefix: bool
    exact: str | None  # the case-sensitive form, if the case must match
    needs_cue: bool
    phrase: bool


@dataclass(frozen=True, slots=True)
class _Cue:
    category: str  # a category or "general"
    language: str
    length: int
    word_end: bool  # the cue's last character is a word character (needs a right boundary)


@dataclass(frozen=True, slots=True)
class _Guard:
    length: int


_Item = _Term | _Cue | _Guard | str


@dataclass(frozen=True, slots=True)
class _Lexicon:
    scanner: LiteralScanner  # every folded key
    items: tuple[tuple[_Item, ...], ...]  # per key: its terms, cues, guards
    first_names: frozenset[str]
    categories: frozenset[str]


def _parse_term(raw: str, category: str, language: str) -> tuple[str, _Term]:
    needs_cue = raw.startswith("~")
    body = raw[1:] if needs_cue else raw
    exact = body.startswith("=")
    body = body[1:] if exact else body
    prefix = body.endswith("*")
    body = body[:-1] if prefix else body
    key = fold(body)
    return key, _Term(
        category=category,
        language=language,
        length=len(key),
        prefix=prefix,
        exact=body if exact else None,
        needs_cue=needs_cue,
        phrase=" " in body,
    )


@functools.cache
def _lexicon() -> _Lexicon:
    doc = load_yaml("sensitive.yaml")
    keys: dict[str, list[_Item]] = defaultdict(list)
    categories: set[str] = set()
    for category, by_language in doc["categories"].items():
        categories.add(str(category))
        for language, terms in by_language.items():
            for raw in terms:
                key, term = _parse_term(str(raw), str(category), str(language))
                keys[key].append(term)
    for category, by_language in doc["cues"].items():
        for language, cues in by_language.items():
            for raw in cues:
                key = fold(str(raw))
                keys[key].append(
                    _Cue(str(category), str(language), len(key), is_word_char(key[-1]))
                )
    for guards in doc["guards"].values():
        for raw in guards:
            key = fold(str(raw))
            keys[key].append(_Guard(len(key)))
    keys[_INSURANCE_PREFIX].append(_INSURANCE_PREFIX)
    literals = [
        Literal(key, right=not any(_open_right(item) for item in items))
        for key, items in keys.items()
    ]
    firsts = frozenset(fold(n) for n in load_lines("first_names.txt"))
    return _Lexicon(
        scanner=LiteralScanner(literals, folded=True),
        items=tuple(tuple(items) for items in keys.values()),
        first_names=firsts,
        categories=frozenset(categories),
    )


def _open_right(item: _Item) -> bool:
    """Whether a hit may continue into the next word (prefix terms, the card-number prefix)."""
    return isinstance(item, str) or (isinstance(item, _Term) and item.prefix)


@dataclass(slots=True)
class _Hit:
    start: int
    end: int
    term: _Term


class SensitiveRecognizer:
    """Mentions of the forbidden (``sensitive.*``) categories in EN/FR/DE/IT."""

    id = "lexicon.sensitive"
    languages = LANGUAGES
    #: Overlap priority in the Detector: above phone numbers (60), so that "carte vitale" or
    #: "health insurance number" followed by its number stays a health finding, below e-mail
    #: addresses (70) and national IDs (75+).
    priority = 61

    def __init__(self) -> None:
        self._lex = _lexicon()
        self.categories = self._lex.categories
        self._class: DataClass = class_of(HEALTH)

    def find(self, text: str, language: str | None = None) -> list[Finding]:
        """Sensitive mentions in ``text``; ``language`` narrows the lexicon (None: all four)."""
        if not text:
            return []
        low = fold(text)
        return self.find_prescanned(text, low, language, (self._lex.scanner.scan(low),))

    def literal_scanners(self) -> tuple[LiteralScanner, ...]:
        """The one scanner of every folded key (terms, cues, guards, card prefix)."""
        return (self._lex.scanner,)

    def find_prescanned(
        self, text: str, low: str, language: str | None, hits: Sequence[list[Hit]]
    ) -> list[Finding]:
        """:meth:`find` with the scan of :meth:`literal_scanners` already done."""
        (scanned,) = hits
        if not scanned:
            return []
        langs = {language, _ANY} if language is not None and language in LANGUAGES else None
        terms, cues, guards, numbers = self._scan(text, low, langs, scanned)
        guards.sort()
        cue_starts = [c[0] for c in cues]
        out: list[Finding] = list(numbers)
        for hit in terms:
            if _overlaps_any(guards, hit.start, hit.end):
                continue
            if self._is_first_name(text, low, hit):
                continue
            seen = _cues_near(low, cues, cue_starts, hit)
            category = hit.term.category
            specific = [p for c, p in seen if c == category]
            general = [p for c, p in seen if c == _GENERAL]
            if hit.term.needs_cue:
                if not specific and not (general and category in _CUE_ACCEPTS_GENERAL):
                    continue
                score = 0.8
            else:
                base = 0.8 if hit.term.phrase else (0.7 if hit.term.prefix else 0.75)
                score = min(0.95, base + (0.15 if specific or general else 0.0))
            end = self._extend_insurance_number(low, hit)
            if end != hit.end:
                score = 0.95  # an insurance keyword followed by its number
            context = tuple(dict.fromkeys(specific + general))[:3]
            out.append(
                new_finding(
                    start=hit.start,
                    end=end,
                    category=category,
                    data_class=self._class,
                    score=score,
                    detector=self.id,
                    explanation=f"{category} lexicon term ({hit.term.language})"
                    + ("; context cue nearby" if context else "")
                    + ("; insurance number follows" if end != hit.end else ""),
                    context=context,
                )
            )
        return _resolve(out)

    # -- scanning -----------------------------------------------------------------------------

    def _scan(
        self, text: str, low: str, langs: set[str] | None, scanned: list[Hit]
    ) -> tuple[list[_Hit], list[tuple[int, str, str]], list[tuple[int, int]], list[Finding]]:
        n = len(low)
        hits: list[_Hit] = []
        cues: list[tuple[int, str, str]] = []
        guards: list[tuple[int, int]] = []
        numbers: list[Finding] = []
        for start, end, index in scanned:
            for item in self._lex.items[index]:
                if isinstance(item, str):
                    numbers.extend(self._insurance_card(low, end))
                    continue
                if start > 0 and is_word_char(low[start - 1]):
                    continue
                if isinstance(item, _Guard):
                    guards.append((start, end))
                elif isinstance(item, _Cue):
                    if langs is not None and item.language not in langs and item.language != _ANY:
                        continue
                    if item.word_end and end < n and is_word_char(low[end]):
                        continue
                    cues.append((start, item.category, low[start:end]))
                else:
                    hit = self._term_hit(text, low, start, end, item, langs)
                    if hit is not None:
                        hits.append(hit)
        return hits, cues, guards, numbers

    @staticmethod
    def _term_hit(
        text: str, low: str, start: int, end: int, term: _Term, langs: set[str] | None
    ) -> _Hit | None:
        if langs is not None and term.language not in langs:
            return None
        if term.exact is not None and text[start:end] != term.exact:
            return None
        n = len(low)
        if term.prefix:
            stop = min(n, end + _MAX_PREFIX_TAIL)
            while end < stop and (
                is_word_char(low[end])
                or (low[end] == "-" and end + 1 < n and low[end + 1].isalpha())
            ):
                end += 1
            if end < n and is_word_char(low[end]):
                return None
        elif end < n and is_word_char(low[end]) and is_word_char(low[end - 1]):
            return None
        return _Hit(start, end, term)

    def _insurance_card(self, low: str, end: int) -> Iterator[Finding]:
        start = end - len(_INSURANCE_PREFIX)
        stop = start + 20
        if (start > 0 and is_word_char(low[start - 1])) or stop > len(low):
            return
        if not low[start:stop].isdigit() or not low[start:stop].isascii():
            return
        if stop < len(low) and is_word_char(low[stop]):
            return
        yield Finding(
            start=start,
            end=stop,
            category=HEALTH,
            data_class=self._class,
            score=0.85,
            detector=self.id,
            explanation="Swiss health-insurance card number shape (807 + 17 digits)",
        )

    @staticmethod
    def _extend_insurance_number(low: str, hit: _Hit) -> int:
        """For an insurance-number keyword, the end of the number that follows it (if any)."""
        if low[hit.start : hit.end] not in _INSURANCE_KEYWORDS:
            return hit.end
        j = hit.end
        stop = min(len(low), j + 12)
        while j < stop and not low[j].isdigit():
            if low[j] == "\n":
                return hit.end
            j += 1
        digits = 0
        last_digit = hit.end
        stop = min(len(low), j + 40)
        while j < stop and (low[j].isdigit() or low[j] in " .-/"):
            if low[j].isdigit():
                digits += 1
                last_digit = j + 1
            j += 1
        return last_digit if digits >= 6 else hit.end

    def _is_first_name(self, text: str, low: str, hit: _Hit) -> bool:
        """A first name used as a name ("Christian Meier"), not as a term."""
        word = low[hit.start : hit.end]
        if word not in self._lex.first_names or not text[hit.start].isupper():
            return False
        nxt = hit.end + 1
        return nxt < len(text) and text[hit.end] == " " and text[nxt].isupper()


def _overlaps_any(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    i = bisect.bisect_left(spans, (end, end))
    # spans are sorted by start; a guard can be long, look back a few
    return any(a < end and start < b for a, b in spans[max(0, i - 8) : i])


def _cues_near(
    low: str, cues: list[tuple[int, str, str]], starts: list[int], hit: _Hit
) -> list[tuple[str, str]]:
    lo = bisect.bisect_left(starts, hit.start - _WINDOW_BEFORE)
    hi = bisect.bisect_right(starts, hit.end + _WINDOW_AFTER)
    out: list[tuple[str, str]] = []
    for start, cat, phrase in cues[lo:hi]:
        if hit.start <= start < hit.end:
            continue  # the term itself is not its own cue
        between = (
            low[start + len(phrase) : hit.start] if start < hit.start else low[hit.end : start]
        )
        if any(ch in _SENTENCE_END for ch in between):
            continue  # a cue counts only in the same sentence
        out.append((cat, phrase))
    return out


def _resolve(findings: list[Finding]) -> list[Finding]:
    findings = _merge_same_category(findings)
    return keep_best(findings, lambda f: (f.start, f.end), lambda f: (-f.length, -f.score, f.start))


def _merge_same_category(findings: list[Finding]) -> list[Finding]:
    """Overlapping findings of one category become one ("trade union" + "union member")."""
    merged: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.category, f.start, -f.end)):
        prev = merged[-1] if merged else None
        if prev is not None and prev.category == f.category and f.start < prev.end:
            merged[-1] = Finding(
                start=prev.start,
                end=max(prev.end, f.end),
                category=prev.category,
                data_class=prev.data_class,
                score=max(prev.score, f.score),
                detector=prev.detector,
                explanation=prev.explanation,
                context=tuple(dict.fromkeys(prev.context + f.context))[:3],
            )
        else:
            merged.append(f)
    return merged
