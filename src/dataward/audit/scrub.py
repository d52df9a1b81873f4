"""The detector as the audit log's scrubber: an entry whose free identifiers carry personal data
is refused.

The entry schema already limits every field to short identifiers; this closes what a schema
cannot see, e.g. a social-security number or a phone number used as a subject reference.
Category names, classes and the decision are the log's own vocabulary and are not scanned.

It runs on every audited write, so it scans in ONE detector call: an entry's values are joined by
blank lines (so a value is read with its own entry's context, e.g. a purpose ``passport_check``
beside a subject reference) and a finding counts only when it lies inside one value. A batch of
entries (:meth:`DetectorScrubber.scrub_many`, which
:meth:`dataward.audit.entry.EntryBuilder.build_many` uses) is one call over the batch's distinct
entry texts, kept apart by :data:`GAP` newlines, wider than any recognizer's context reach: each
entry is judged exactly as if it were scanned alone, never with another entry's words.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence

from dataward.detect import Detector

__all__ = ["GAP", "SCANNED_FIELDS", "DetectorScrubber", "detector_scrubber"]

SCANNED_FIELDS = ("actor_id", "subject_ref", "request_id", "recipient", "purpose")
_SEP = "\n\n"
#: Newlines between two entries' texts in a batch scan: more than any recognizer looks around a
#: match (64 characters before and 32 after for patterns, 60/40 for sensitive terms).
GAP = 512
_ENTRY_SEP = "\n" * GAP


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
        texts: list[tuple[str, list[tuple[int, int]]]] = []
        for body in bodies:
            mine = [v for name in SCANNED_FIELDS if isinstance(v := body.get(name), str) and v]
            bounds: list[tuple[int, int]] = []
            at = 0
            for v in mine:
                bounds.append((at, at + len(v)))
                at += len(v) + len(_SEP)
            texts.append((_SEP.join(mine), bounds))
        distinct = list(dict.fromkeys(t for t, _ in texts if t))
        found = self._scan(distinct)
        out: list[list[str]] = []
        for text, bounds in texts:
            hits = found.get(text, ())
            out.append(
                sorted({c for a0, b0, c in hits if any(a <= a0 and b0 <= b for a, b in bounds)})
            )
        return out

    def _scan(self, texts: list[str]) -> dict[str, list[tuple[int, int, str]]]:
        """Per entry text, its findings (start, end within the text, category), one call."""
        if not texts:
            return {}
        starts: list[int] = []
        at = 0
        for t in texts:
            starts.append(at)
            at += len(t) + GAP
        out: dict[str, list[tuple[int, int, str]]] = {t: [] for t in texts}
        for f in self.detector.detect(_ENTRY_SEP.join(texts)):
            if f.score < self.min_score:
                continue
            k = bisect.bisect_right(starts, f.start) - 1
            base = starts[k]
            if f.end <= base + len(texts[k]):  # inside this entry's text
                out[texts[k]].append((f.start - base, f.end - base, f.category))
        return out


def detector_scrubber(
    detector: Detector | None = None, *, min_score: float = 0.5
) -> DetectorScrubber:
    """A scrubber that runs ``detector`` (default: the shipped one) over the identifier fields."""
    return DetectorScrubber(detector or Detector.default(), min_score=min_score)
