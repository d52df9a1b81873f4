"""Multi-literal scanning with Hyperscan, reporting Python string offsets.

Every literal is compiled once into a Hyperscan block-mode database (UTF-8; ASCII word
boundaries ``\\b`` where a literal starts or ends with an ASCII word character, which only prunes
hits the callers reject anyway: they re-check boundaries on the text). Scanning is linear, runs
at hundreds of MB/s, and calls back into Python only for actual hits. Each thread gets its own
scratch space, so one scanner can be shared.

A :class:`LiteralScanner` also hands its expressions to the :class:`~dataward.detect.Detector`,
which compiles them together with the pattern prefilter (``folded=False``: the scanner reads the
text as is) or with the other case-folded literal sets (``folded=True``: it reads
:func:`~dataward.detect.lexicons.fold` of the text), so a document is scanned twice in all, not
once per lexicon. Recognizers that accept such shared scans implement
:class:`PrescannedRecognizer`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import hyperscan

from dataward.detect.hscache import cached_blob
from dataward.detect.model import Finding
from dataward.errors import ConfigurationError

__all__ = ["FLAGS", "Hit", "Literal", "LiteralScanner", "PrescannedRecognizer", "to_char_offsets"]

FLAGS = hyperscan.HS_FLAG_SOM_LEFTMOST | hyperscan.HS_FLAG_UTF8
_FLAGS = FLAGS

#: ``(start, end, literal index)`` with Python string offsets.
Hit = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Literal:
    """A literal to find; ``left``/``right``: whether a word boundary is expected there."""

    text: str
    left: bool = True
    right: bool = True


def _is_ascii_word(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


def _pattern(lit: Literal) -> bytes:
    body = "".join(
        ch if ch.isascii() and ch.isalnum() else ("\\" + ch if ch.isascii() else ch)
        for ch in lit.text
    )
    if lit.left and _is_ascii_word(lit.text[0]):
        body = "\\b" + body
    if lit.right and _is_ascii_word(lit.text[-1]):
        body += "\\b"
    return body.encode("utf-8")


class LiteralScanner:
    """Finds every occurrence (overlaps included) of a fixed set of literals in a text."""

    def __init__(self, literals: Sequence[Literal], *, folded: bool = False) -> None:
        if not literals:
            raise ConfigurationError("a literal scanner needs at least one literal")
        expressions = [_pattern(lit) for lit in literals]
        #: The Hyperscan expressions (index = literal index), compiled with :data:`FLAGS`.
        self.expressions: tuple[bytes, ...] = tuple(expressions)
        #: The UTF-8 length of each literal: a hit's start is its end minus this (a shared scan
        #: compiles the literals without start-of-match tracking, which halves their cost).
        self.lengths: tuple[int, ...] = tuple(
            len(lit.text.encode("utf-8", "surrogatepass")) for lit in literals
        )
        #: Whether the literals are meant for the case-folded text (see the module docs).
        self.folded = folded

        self._db: Any = None  # compiled on the first own scan (a Detector scans for it)
        self._lock = threading.Lock()
        self._local = threading.local()

    def _database(self) -> Any:
        if self._db is None:
            with self._lock:
                if self._db is None:
                    material = b"literals\0%d\0" % _FLAGS + b"\0".join(self.expressions)
                    blob = cached_blob(material, lambda: _compile(self.expressions))
                    self._db = hyperscan.loadb(blob, hyperscan.HS_MODE_BLOCK)
        return self._db

    def scan(self, text: str) -> list[tuple[int, int, int]]:
        """``(start, end, literal index)`` hits as Python string offsets, in scan order."""
        if not text:
            return []
        data = text.encode("utf-8", "surrogatepass")
        db = self._database()
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = hyperscan.Scratch(db)
            self._local.scratch = scratch
        hits: list[tuple[int, int, int]] = []

        def on_match(ident: int, start: int, end: int, flags: int, context: object) -> None:
            hits.append((start, end, ident))

        db.scan(data, match_event_handler=on_match, scratch=scratch)
        if not hits or len(data) == len(text):
            return hits
        return to_char_offsets(data, hits)


def _compile(expressions: Sequence[bytes]) -> bytes:
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    try:
        db.compile(
            expressions=list(expressions),
            ids=list(range(len(expressions))),
            elements=len(expressions),
            flags=[_FLAGS] * len(expressions),
        )
    except hyperscan.error as exc:
        raise ConfigurationError(
            f"a shipped lexicon could not be compiled ({exc}); reinstall dataward"
        ) from None
    return bytes(hyperscan.dumpb(db))


@runtime_checkable
class PrescannedRecognizer(Protocol):
    """A recognizer whose literal scans the :class:`~dataward.detect.Detector` may do for it.

    ``literal_scanners`` lists its scanners; ``find_prescanned`` gets, per scanner and in the
    same order, the hits that ``scanner.scan`` would have returned (on ``low`` for a folded
    scanner, on ``text`` otherwise; order within a list may differ) and must return what
    ``find(text, language)`` returns.
    """

    id: str

    def literal_scanners(self) -> tuple[LiteralScanner, ...]: ...

    def find_prescanned(
        self, text: str, low: str, language: str | None, hits: Sequence[list[Hit]]
    ) -> list[Finding]: ...


def to_char_offsets(data: bytes, hits: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Map UTF-8 byte offsets (at character boundaries) to string offsets, in one pass."""
    offsets = sorted({o for s, e, _ in hits for o in (s, e)})
    table: dict[int, int] = {}
    prev_byte = 0
    chars = 0
    for off in offsets:
        chars += len(data[prev_byte:off].decode("utf-8", "surrogatepass"))
        table[off] = chars
        prev_byte = off
    return [(table[s], table[e], i) for s, e, i in hits]
