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
_SEP = "\n\n"


def detector_scrubber(detector: Detector | None = None, *, min_score: float = 0.5) -> Scrubber:
    """A scrubber that runs ``detector`` (default: the shipped one) over the identifier fields."""
    det = detector or Detector.default()

    def scrub(body: Mapping[str, object]) -> list[str]:
        # One detector call over all fields (it runs on every audited write): the values are
        # joined by blank lines and a finding counts only when it lies inside one value.
        parts = [v for name in SCANNED_FIELDS if isinstance(v := body.get(name), str) and v]
        if not parts:
            return []
        bounds: list[tuple[int, int]] = []
        at = 0
        for v in parts:
            bounds.append((at, at + len(v)))
            at += len(v) + len(_SEP)
        return [
            f.category
            for f in det.detect(_SEP.join(parts))
            if f.score >= min_score and any(a <= f.start and f.end <= b for a, b in bounds)
        ]

    return scrub
