"""Multi-literal scanning with Hyperscan, reporting Python string offsets.

Every literal is compiled once into a Hyperscan block-mode database (UTF-8; ASCII word
boundaries ``\\b`` where a literal starts or ends with an ASCII word character, which only prunes
hits the callers reject anyway: they re-check boundaries on the text). Scanning is linear, runs
at hundreds of MB/s, and calls back into Python only for actual hits. Each thread gets its own
scratch space, so one scanner can be shared.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import hyperscan

from dataward.detect.hscache import cached_blob
from dataward.errors import ConfigurationError

__all__ = ["Literal", "LiteralScanner"]

_FLAGS = hyperscan.HS_FLAG_SOM_LEFTMOST | hyperscan.HS_FLAG_UTF8


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

    def __init__(self, literals: Sequence[Literal]) -> None:
        if not literals:
            raise ConfigurationError("a literal scanner needs at least one literal")
        expressions = [_pattern(lit) for lit in literals]

        def build() -> bytes:
            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            try:
                db.compile(
                    expressions=expressions,
                    ids=list(range(len(expressions))),
                    elements=len(expressions),
                    flags=[_FLAGS] * len(expressions),
                )
            except hyperscan.error as exc:
                raise ConfigurationError(
                    f"a shipped lexicon could not be compiled ({exc}); reinstall dataward"
                ) from None
            return bytes(hyperscan.dumpb(db))

        material = b"literals\0%d\0" % _FLAGS + b"\0".join(expressions)
        self._db = hyperscan.loadb(cached_blob(material, build), hyperscan.HS_MODE_BLOCK)
        self._local = threading.local()

    def scan(self, text: str) -> list[tuple[int, int, int]]:
        """``(start, end, literal index)`` hits as Python string offsets, in scan order."""
        if not text:
            return []
        data = text.encode("utf-8", "surrogatepass")
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = hyperscan.Scratch(self._db)
            self._local.scratch = scratch
        hits: list[tuple[int, int, int]] = []

        def on_match(ident: int, start: int, end: int, flags: int, context: object) -> None:
            hits.append((start, end, ident))

        self._db.scan(data, match_event_handler=on_match, scratch=scratch)
        if not hits or len(data) == len(text):
            return hits
        return _to_char_offsets(data, hits)


def _to_char_offsets(data: bytes, hits: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
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
