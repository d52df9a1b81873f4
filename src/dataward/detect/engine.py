"""The :class:`Detector`: every recognizer behind one prefilter, overlaps resolved, chunked.

Pattern recognizers are compiled together: one Hyperscan database (block mode, one report per
pattern) tells which patterns can match in a window, then only those patterns run with RE2 and
only their candidates reach the validators. The literal sets of the lexicon recognizers (see
:class:`~dataward.detect.lexicons.scanner.PrescannedRecognizer`) ride along in the same scan, or
in one scan of the case-folded text (:mod:`dataward.detect.scanplan`): two linear passes per
window in all. Other recognizers (NER plug-ins) get the window as ``str``. In a big window, the
fired specs marked ``confirm`` (card, identity and phone numbers, whose prefilters fire on most
log blocks) first go through one RE2 set pass (:mod:`dataward.detect.confirm`): only those whose
regex matches at all run.

Long input is cut into windows of ``CHUNK`` characters that overlap by ``OVERLAP`` (the longest
finding kept whole) with a ``BACK`` margin for context words; each finding belongs to the window
where it starts, so memory stays bounded on a gigabyte on one line.
"""

from __future__ import annotations

import bisect
import dataclasses
import gc
import operator
import threading
from collections.abc import Iterable, Iterator
from typing import Final

from dataward.detect.confirm import CONFIRM_MIN_BYTES, CONFIRM_MIN_SPECS, Confirmer
from dataward.detect.lexicons.scanner import LiteralScanner, PrescannedRecognizer
from dataward.detect.model import Finding, Recognizer
from dataward.detect.scanplan import ScanPlan
from dataward.detect.spec import Candidate, PatternRecognizer, PatternSpec, candidates_to_findings
from dataward.detect.textio import check_text
from dataward.errors import DetectionError, InputError
from dataward.taxonomy import Taxonomy, default_taxonomy

__all__ = ["BACK", "CHUNK", "OVERLAP", "Detector"]

CHUNK: Final = 1 << 18
OVERLAP: Final = 1 << 13
BACK: Final = 256
_DEFAULT_PRIORITY: Final = 50
_GC_PAUSE_CHARS: Final = 1 << 16


class _GcPause:
    """Pauses the cyclic garbage collector while at least one big window is being scanned, in
    any thread; turns it back on when the last one ends, and only if it was on before (a
    caller that switched it off keeps it off)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._was_enabled = False

    def __enter__(self) -> None:
        with self._lock:
            if self._depth == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._depth += 1

    def __exit__(self, *_exc: object) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self._was_enabled:
                gc.enable()


_gc_paused = _GcPause()
_MAIN = threading.main_thread()


_default_lock = threading.Lock()
_default: Detector | None = None


def _encode(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: one '?' each keeps the character count
        return text.encode("utf-8", "replace")


class Detector:
    """Finds personal data in text. Build once, share freely: ``detect`` is thread-safe.

    ``recognizers`` defaults to :func:`dataward.detect.registry.default_recognizers`; pass your
    own list (for example ``default_recognizers(plugins=[...])``) to add plug-ins. Every category
    a recognizer declares must exist in ``taxonomy``. Findings scoring below ``min_score`` are
    dropped.
    """

    def __init__(
        self,
        recognizers: Iterable[Recognizer] | None = None,
        *,
        taxonomy: Taxonomy | None = None,
        min_score: float = 0.5,
    ) -> None:
        if recognizers is None:
            from dataward.detect.registry import default_recognizers

            recognizers = default_recognizers()
        self.taxonomy = taxonomy or default_taxonomy()
        self.recognizers: tuple[Recognizer, ...] = tuple(recognizers)
        self.min_score = min_score
        ids: set[str] = set()
        for rec in self.recognizers:
            if not isinstance(rec, Recognizer):
                raise InputError(f"{rec!r} does not implement the Recognizer protocol")
            if rec.id in ids:
                raise InputError(f"two recognizers share the id {rec.id!r}; ids must be unique")
            ids.add(rec.id)
            for cat in rec.categories:
                self.taxonomy.get(cat)  # UnknownCategoryError names the category
        specs: list[PatternSpec] = []
        for rec in self.recognizers:
            if isinstance(rec, PatternRecognizer):
                specs.extend(rec.specs)
        for spec in specs:
            spec.bind_class(self.taxonomy.class_of(spec.category))
        self._specs: tuple[PatternSpec, ...] = tuple(specs)
        self._others: tuple[Recognizer, ...] = tuple(
            r for r in self.recognizers if not isinstance(r, PatternRecognizer)
        )
        self._priority: dict[str, int] = {s.id: s.priority for s in specs}
        scanners: list[LiteralScanner] = []
        # per other recognizer: the slots of its scanners in the shared scan, or None (plain find)
        self._slots: tuple[tuple[int, ...] | None, ...] = tuple(
            _claim_slots(rec, scanners) for rec in self._others
        )
        for rec in self._others:
            # a recognizer may say how it ranks on overlaps (default 50, like a spec)
            prio = getattr(rec, "priority", _DEFAULT_PRIORITY)
            self._priority[rec.id] = prio if isinstance(prio, int) else _DEFAULT_PRIORITY
        self._routes = tuple(zip(self._others, self._slots, strict=True))
        self._plan = ScanPlan([_hs_pattern(s) for s in self._specs], scanners)
        self._confirm = Confirmer(self._specs)

    @classmethod
    def default(cls) -> Detector:
        """The detector with the built-in recognizers, built once per process."""
        global _default
        with _default_lock:
            if _default is None:
                _default = cls()
            return _default

    @property
    def categories(self) -> frozenset[str]:
        out: set[str] = set()
        for rec in self.recognizers:
            out |= rec.categories
        return frozenset(out)

    def restricted(self, categories: Iterable[str]) -> Detector:
        """A detector with only the recognizers that can report one of ``categories``.

        It is a cheap gate: whenever ``self.detect(text)`` has a finding in ``categories``,
        ``restricted(...).detect(text)`` finds something (each recognizer finds the same
        candidates alone as beside the others; overlaps among fewer findings never drop them
        all). An empty answer therefore proves ``self`` would report none of ``categories``;
        a non-empty one only says: ask ``self``. (The vault gates its check for forbidden and
        card data in values of a declared category this way.) A category no recognizer
        reports selects nothing. Recognizers from outside dataward (plug-ins) are always kept:
        nothing checks that they report only the categories they declare.
        """
        wanted = frozenset(categories)
        return Detector(
            [r for r in self.recognizers if not wanted.isdisjoint(r.categories) or not _builtin(r)],
            taxonomy=self.taxonomy,
            min_score=self.min_score,
        )

    # --- public -------------------------------------------------------------------------------

    def detect(self, text: str, language: str | None = None) -> list[Finding]:
        """Findings in ``text`` sorted by start; overlaps resolved. Binary text is refused."""
        if not isinstance(text, str):
            raise InputError(
                f"detect() takes str, not {type(text).__name__}; decode bytes with "
                "dataward.detect.decode_bytes first"
            )
        if len(text) <= CHUNK + OVERLAP:
            check_text(text)
            return self._window(text, language, 0, 0, len(text))
        out: list[Finding] = []
        for findings, _safe in self.detect_windows(_slices(text), language):
            out.extend(findings)
        return out

    def detect_stream(
        self, pieces: Iterable[str], language: str | None = None
    ) -> Iterator[Finding]:
        """Findings in the concatenation of ``pieces`` (bounded memory), offsets global."""
        for findings, _safe in self.detect_windows(pieces, language):
            yield from findings

    def detect_windows(
        self, pieces: Iterable[str], language: str | None = None
    ) -> Iterator[tuple[list[Finding], int]]:
        """Per window: its findings (sorted, global offsets) and the offset before which no
        later window will report a finding. Memory stays bounded by the window size."""
        buf = ""
        base = 0  # global offset of buf[0]
        owned_from = 0
        for piece in pieces:
            check_text(piece)
            buf += piece
            while len(buf) >= CHUNK + OVERLAP:
                owned_to = base + CHUNK
                found = self._window(buf[: CHUNK + OVERLAP], language, base, owned_from, owned_to)
                # sorted by start and overlap-free: the last finding ends last
                yield found, max(owned_to, found[-1].end) if found else owned_to
                cut = CHUNK - BACK
                buf = buf[cut:]
                base += cut
                owned_from = owned_to
        end = base + len(buf)
        yield (self._window(buf, language, base, owned_from, end) if buf else []), end

    def scan_categories(self, text: str, language: str | None = None) -> frozenset[str]:
        """The set of categories found in ``text``."""
        return frozenset(f.category for f in self.detect(text, language))

    # --- internals ----------------------------------------------------------------------------

    def _window(
        self, text: str, language: str | None, base: int, owned_from: int, owned_to: int
    ) -> list[Finding]:
        if len(text) < _GC_PAUSE_CHARS or threading.current_thread() is not _MAIN:
            return self._scan_window(text, language, base, owned_from, owned_to)
        # A big window makes tens of thousands of findings, none in a reference cycle: the
        # collector's passes, triggered by the allocation count alone, are pure overhead (a
        # quarter of the time on access logs). Paused for this window only, and only in the
        # main thread (a CLI, a batch job): in a threaded server, other threads scanning back
        # to back could otherwise keep the collector off for everyone.
        with _gc_paused:
            return self._scan_window(text, language, base, owned_from, owned_to)

    def _scan_window(
        self, text: str, language: str | None, base: int, owned_from: int, owned_to: int
    ) -> list[Finding]:
        data = _encode(text)
        scanned = self._plan.scan(text, data)
        found: list[Finding] = []
        minimum = self.min_score
        if scanned.specs:
            fired = scanned.specs
            if len(data) >= CONFIRM_MIN_BYTES:
                doubtful = fired & self._confirm.ids
                if len(doubtful) >= CONFIRM_MIN_SPECS:
                    # one RE2 set pass instead of a full pass per spec that finds nothing
                    matched = self._confirm.matching(data)
                    if matched is not None:
                        fired = (fired - doubtful) | (doubtful & matched)
            lowered = scanned.lowered if scanned.lowered is not None else data.lower()
            cands: list[Candidate] = []
            specs = self._specs
            for i in sorted(fired):
                specs[i].collect(data, lowered, cands)
            if cands:
                # only the findings this window keeps are built (score, owned range)
                found = candidates_to_findings(
                    text, data, cands, base, keep=(minimum, owned_from, owned_to)
                )
        lists = scanned.literals
        for rec, slots in self._routes:
            try:
                if slots is None:
                    extra = list(rec.find(text, language))
                else:
                    mine = [lists[s] for s in slots]
                    if not any(mine):
                        continue  # none of its literals occur: nothing to find
                    pre: PrescannedRecognizer = rec  # type: ignore[assignment]  # per _claim_slots
                    extra = pre.find_prescanned(text, scanned.low, language, mine)
            except Exception as exc:
                raise DetectionError(
                    f"recognizer {rec.id!r} failed ({type(exc).__name__}); "
                    "report this bug with the recognizer id, not the input"
                ) from None
            if not extra:
                continue
            if base:
                extra = [
                    dataclasses.replace(f, start=f.start + base, end=f.end + base) for f in extra
                ]
            found.extend(
                f for f in extra if f.score >= minimum and owned_from <= f.start < owned_to
            )
        if not found:
            return found
        return self._resolve(found)

    def _resolve(self, found: list[Finding]) -> list[Finding]:
        """Drop the losers of overlaps. Only clusters of overlapping findings are ranked (a
        finding never competes with one outside its cluster), so the usual text with a few
        overlaps costs one sort by start."""
        if len(found) <= 1:
            return found
        found.sort(key=_START)
        kept: list[Finding] = []
        cluster: list[Finding] = []
        end = -1
        for f in found:
            if f.start >= end:
                if len(cluster) > 1:
                    kept.extend(self._rank(cluster))
                elif cluster:
                    kept.append(cluster[0])
                cluster = [f]
                end = f.end
            else:
                cluster.append(f)
                if f.end > end:
                    end = f.end
        if len(cluster) > 1:
            kept.extend(self._rank(cluster))
        else:
            kept.append(cluster[0])
        return kept

    def _rank(self, cluster: list[Finding]) -> list[Finding]:
        """The winners of one cluster, by start: priority, class, score, length, position."""
        prio = self._priority
        ranked = sorted(
            cluster,
            key=lambda f: (
                -prio.get(f.detector, _DEFAULT_PRIORITY),
                -f.data_class.rank,
                -f.score,
                -(f.end - f.start),
                f.start,
            ),
        )
        starts: list[int] = []
        kept: list[Finding] = []
        for f in ranked:
            i = bisect.bisect_right(starts, f.start)
            if i > 0 and kept[i - 1].end > f.start:
                continue
            if i < len(kept) and kept[i].start < f.end:
                continue
            starts.insert(i, f.start)
            kept.insert(i, f)
        return kept


_START: Final = operator.attrgetter("start")


def _builtin(rec: Recognizer) -> bool:
    """True for dataward's own recognizers (they report only the categories they declare)."""
    return type(rec).__module__.startswith("dataward.detect.")


def _slices(text: str) -> Iterator[str]:
    for i in range(0, len(text), CHUNK):
        yield text[i : i + CHUNK]


def _claim_slots(rec: Recognizer, scanners: list[LiteralScanner]) -> tuple[int, ...] | None:
    """Register the literal scanners of a prescanned recognizer; None for the others."""
    if not isinstance(rec, PrescannedRecognizer):
        return None
    own = rec.literal_scanners()
    first = len(scanners)
    scanners.extend(own)
    return tuple(range(first, first + len(own)))


def _hs_pattern(spec: PatternSpec) -> bytes:
    # Word boundaries are costly in Hyperscan; without them the prefilter only gets looser.
    return (spec.prefilter or spec.regex).replace(r"\b", "").encode("utf-8")
