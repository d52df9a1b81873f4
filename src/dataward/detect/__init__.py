"""Detection: find and classify personal data in text, records and tables.

``Detector.default().detect(text)`` returns :class:`Finding` values (span, category, class,
score, detector, explanation). Matching is linear-time only (RE2, Hyperscan, Aho-Corasick).
"""

from __future__ import annotations

from dataward.detect.engine import Detector
from dataward.detect.model import Finding, Recognizer
from dataward.detect.records import (
    ColumnReport,
    FieldReport,
    classify_columns,
    detect_record,
)
from dataward.detect.redact import Operator, redact
from dataward.detect.registry import builtin_recognizers, default_recognizers, pattern_recognizers
from dataward.detect.spec import PatternRecognizer, PatternSpec
from dataward.detect.textio import decode_bytes, looks_binary

__all__ = [
    "ColumnReport",
    "Detector",
    "FieldReport",
    "Finding",
    "Operator",
    "PatternRecognizer",
    "PatternSpec",
    "Recognizer",
    "builtin_recognizers",
    "classify_columns",
    "decode_bytes",
    "default_recognizers",
    "detect",
    "detect_record",
    "looks_binary",
    "pattern_recognizers",
    "redact",
    "scan_categories",
]


def detect(text: str, language: str | None = None) -> list[Finding]:
    """Findings in ``text`` with the default detector (built once per process)."""
    return Detector.default().detect(text, language)


def scan_categories(text: str, language: str | None = None) -> frozenset[str]:
    """The categories of personal data present in ``text`` (default detector)."""
    return Detector.default().scan_categories(text, language)
