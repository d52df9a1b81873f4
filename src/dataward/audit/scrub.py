"""The detector as the audit log's scrubber: an entry whose free identifiers carry personal data
is refused.

The entry schema already limits every field to short identifiers; this closes what a schema
cannot see, e.g. a social-security number or a phone number used as a subject reference.
Category names, classes and the decision are the log's own vocabulary and are not scanned.

It runs on every audited write, so it scans many values in ONE detector call: the values are
joined by blank lines and a finding counts only when it lies inside one value. One entry is one
call (:meth:`DetectorScrubber.__call__`); a batch of entries (:meth:`DetectorScrubber.scrub_many`,
which :meth:`dataward.audit.entry.EntryBuilder.build_many` uses) is one call over the distinct
values of the whole batch: a vault write batch repeats its actor and purpose on every entry
and each subject on each of its fields, and each of those is scanned once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dataward.detect import Detector

__all__ = ["SCANNED_FIELDS", "DetectorScrubber", "detector_scrubber"]

SCANNED_FIELDS = ("actor_id", "subject_ref", "request_id", "recipient", "purpose")
_SEP = "\n\n"


class DetectorScrubber:
    """A :data:`~dataward.audit.entry.Scrubber` backed by a detector (see the module doc)."""

    __slots__ = ("detector", "min_score")

    def __init__(self, detector: Detector, *, min_score: float = 0.5) -> None:
        self.detector = detector
        self.min_score = min_score

    def __call__(self, body: Mapping[str, object]) -> list[str]:
        """Categories of personal data in the identifier fields of one entry."""
        return self.scrub_many([body])[0]

    def scrub_many(self, bodies: Sequence[Mapping[str, object]]) -> list[list[str]]:
        """:meth:`__call__` of each body, with one detector call for the whole batch."""
        parts: list[list[str]] = []
        distinct: dict[str, None] = {}
        for body in bodies:
            mine = [v for name in SCANNED_FIELDS if isinstance(v := body.get(name), str) and v]
            parts.append(mine)
            distinct.update(dict.fromkeys(mine))
        found = self._scan(list(distinct))
        return [sorted({c for v in mine for c in found.get(v, ())}) for mine in parts]

    def _scan(self, texts: list[str]) -> dict[str, list[str]]:
        """Per text, the categories found inside it (joined by blank lines, one call)."""
        if not texts:
            return {}
        bounds: list[tuple[int, int, str]] = []
        at = 0
        for v in texts:
            bounds.append((at, at + len(v), v))
            at += len(v) + len(_SEP)
        out: dict[str, list[str]] = {}
        for f in self.detector.detect(_SEP.join(texts)):
            if f.score < self.min_score:
                continue
            for a, b, v in bounds:
                if a <= f.start and f.end <= b:
                    out.setdefault(v, []).append(f.category)
                    break
        return out


def detector_scrubber(
    detector: Detector | None = None, *, min_score: float = 0.5
) -> DetectorScrubber:
    """A scrubber that runs ``detector`` (default: the shipped one) over the identifier fields."""
    return DetectorScrubber(detector or Detector.default(), min_score=min_score)
