"""The detector as the audit log's scrubber: an entry whose free identifiers carry personal data
is refused.

The entry schema already limits every field to short identifiers; this closes what a schema
cannot see, e.g. a social-security number or a phone number used as a subject reference.
Category names, classes and the decision are the log's own vocabulary and are not scanned.
"""

from __future__ import annotations

from collections.abc import Mapping

from dataward.audit.entry import Scrubber
from dataward.detect import Detector

__all__ = ["SCANNED_FIELDS", "detector_scrubber"]

SCANNED_FIELDS = ("actor_id", "subject_ref", "request_id", "recipient", "purpose")


def detector_scrubber(detector: Detector | None = None, *, min_score: float = 0.5) -> Scrubber:
    """A scrubber that runs ``detector`` (default: the shipped one) over the identifier fields."""
    det = detector or Detector.default()

    def scrub(body: Mapping[str, object]) -> list[str]:
        found: list[str] = []
        for name in SCANNED_FIELDS:
            value = body.get(name)
            if isinstance(value, str) and value:
                found.extend(f.category for f in det.detect(value) if f.score >= min_score)
        return found

    return scrub
