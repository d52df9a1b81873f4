"""`dataward detect` and `dataward redact` (being written)."""

from __future__ import annotations


def detect_command() -> None:
    """Find personal data (being written)."""


def redact_command() -> None:
    """Redact personal data (being written)."""
