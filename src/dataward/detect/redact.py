"""Redaction: replace what the detector finds, with one of four operators.

``mask`` keeps the shape (a card number keeps its last four digits), ``replace`` writes the
category tag (``<contact.email>``), ``hash`` writes a keyed HMAC-SHA256 pseudonym (stable for
one key, so joins still work; useless without the key), ``drop`` removes the value.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Iterator
from enum import StrEnum

from dataward.detect.engine import Detector
from dataward.detect.model import Finding
from dataward.errors import InputError

__all__ = ["Operator", "apply_operator", "redact", "redact_stream"]

_PSEUDONYM_HEX = 16


class Operator(StrEnum):
    """How a finding is rewritten."""

    MASK = "mask"
    REPLACE = "replace"
    HASH = "hash"
    DROP = "drop"


def apply_operator(
    value: str, category: str, operator: Operator | str, *, key: bytes | None = None
) -> str:
    """The replacement for one ``value`` of ``category``."""
    op = _operator(operator)
    if op is Operator.REPLACE:
        return f"<{category}>"
    if op is Operator.DROP:
        return ""
    if op is Operator.HASH:
        if not key:
            raise InputError("the 'hash' operator needs a key (bytes); pass key=...")
        mac = hmac.new(key, f"{category}\x00{value}".encode(), hashlib.sha256).hexdigest()
        return f"<{category}:{mac[:_PSEUDONYM_HEX]}>"
    if category == "card.pan":
        digits = sum(ch.isdigit() for ch in value)
        seen = 0
        out = []
        for ch in value:
            if ch.isdigit():
                seen += 1
                out.append(ch if seen > digits - 4 else "*")
            else:
                out.append(ch)
        return "".join(out)
    return "".join(ch if ch in " -./:@" else "*" for ch in value)


def redact(
    text: str,
    *,
    operator: Operator | str = Operator.REPLACE,
    key: bytes | None = None,
    detector: Detector | None = None,
    findings: Iterable[Finding] | None = None,
    language: str | None = None,
    categories: Iterable[str] | None = None,
) -> str:
    """``text`` with personal data rewritten by ``operator``.

    ``findings`` (from an earlier ``detect`` on the same text) skip detection; ``categories``
    limits redaction to those categories (default: all).
    """
    op = _operator(operator)
    if op is Operator.HASH and not key:
        raise InputError("the 'hash' operator needs a key (bytes); pass key=...")
    if findings is None:
        findings = (detector or Detector.default()).detect(text, language)
    keep = frozenset(categories) if categories is not None else None
    out: list[str] = []
    pos = 0
    for f in sorted(findings, key=lambda f: f.start):
        if f.start < pos or (keep is not None and f.category not in keep):
            continue
        out.append(text[pos : f.start])
        out.append(apply_operator(text[f.start : f.end], f.category, op, key=key))
        pos = f.end
    out.append(text[pos:])
    return "".join(out)


def redact_stream(
    pieces: Iterable[str],
    *,
    operator: Operator | str = Operator.REPLACE,
    key: bytes | None = None,
    detector: Detector | None = None,
    language: str | None = None,
) -> Iterator[str]:
    """Redact a long text given as ``pieces``, yielding output pieces (bounded memory)."""
    op = _operator(operator)
    if op is Operator.HASH and not key:
        raise InputError("the 'hash' operator needs a key (bytes); pass key=...")
    det = detector or Detector.default()
    state = _Buffer()

    def feed() -> Iterator[str]:
        for piece in pieces:
            state.buf += piece
            yield piece

    pos = 0
    for findings, safe in det.detect_windows(feed(), language):
        buf, base = state.buf, state.base
        out: list[str] = []
        for f in findings:
            if f.start < pos:
                continue
            out.append(buf[pos - base : f.start - base])
            out.append(apply_operator(buf[f.start - base : f.end - base], f.category, op, key=key))
            pos = f.end
        if safe > pos:
            out.append(buf[pos - base : safe - base])
            pos = safe
        state.buf = state.buf[pos - base :]
        state.base = pos
        if out:
            yield "".join(out)
    if state.buf:
        yield state.buf


class _Buffer:
    """Text read but not yet written by :func:`redact_stream`; ``base`` is its global offset."""

    def __init__(self) -> None:
        self.buf = ""
        self.base = 0


def _operator(operator: Operator | str) -> Operator:
    try:
        return Operator(operator)
    except ValueError:
        choices = ", ".join(o.value for o in Operator)
        raise InputError(f"unknown redaction operator {operator!r}; use one of {choices}") from None
