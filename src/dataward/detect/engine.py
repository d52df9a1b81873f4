"""The :class:`Detector`: every recognizer behind one prefilter, overlaps resolved, chunked.

Pattern recognizers are compiled together: one Hyperscan database (block mode, one report per
pattern) tells which patterns can match in a window, then only those patterns run with RE2 and
only their candidates reach the validators. Text without candidates costs one linear pass.
Other recognizers (lexicons, NER plug-ins) get the window as ``str``.

Long input is cut into windows of ``CHUNK`` characters that overlap by ``OVERLAP`` (the longest
finding kept whole) with a ``BACK`` margin for context words; each finding belongs to the window
where it starts, so memory stays bounded on a gigabyte on one line.
"""

from __future__ import annotations

import bisect
import dataclasses
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

import hyperscan

from dataward.detect.hscache import cached_blob
from dataward.detect.model import Finding, Recognizer
from dataward.detect.spec import Candidate, PatternRecognizer, PatternSpec, candidates_to_findings
from dataward.detect.textio import check_text
from dataward.errors import DetectionError, InputError
from dataward.taxonomy import Taxonomy, default_taxonomy

__all__ = ["BACK", "CHUNK", "OVERLAP", "Detector"]

CHUNK: Final = 1 << 18
OVERLAP: Final = 1 << 13
BACK: Final = 256
_DEFAULT_PRIORITY: Final = 50
_HS_FLAGS: Final = (
    hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_ALLOWEMPTY
)

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
        self._db, self._always = _compile_prefilter(self._specs)
        self._local = threading.local()

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
        return list(self.detect_stream(_slices(text), language))

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
                yield found, max([owned_to, *(f.end for f in found)])
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
        data = _encode(text)
        hits = self._prefilter(data)
        found: list[Finding] = []
        if hits:
            lowered = data.lower()
            cands: list[Candidate] = []
            for i in sorted(hits):
                cands.extend(self._specs[i].candidates(data, lowered))
            found.extend(candidates_to_findings(text, data, cands, base))
        for rec in self._others:
            try:
                extra = list(rec.find(text, language))
            except Exception as exc:
                raise DetectionError(
                    f"recognizer {rec.id!r} failed ({type(exc).__name__}); "
                    "report this bug with the recognizer id, not the input"
                ) from None
            if base:
                extra = [
                    dataclasses.replace(f, start=f.start + base, end=f.end + base) for f in extra
                ]
            found.extend(extra)
        minimum = self.min_score
        found = [f for f in found if f.score >= minimum and owned_from <= f.start < owned_to]
        return self._resolve(found)

    def _prefilter(self, data: bytes) -> set[int]:
        hits: set[int] = set(self._always)
        if self._db is None or not data:
            return hits
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = hyperscan.Scratch(self._db)
            self._local.scratch = scratch

        def on_match(pid: int, _from: int, _to: int, _flags: int, _ctx: Any) -> None:
            hits.add(pid)

        self._db.scan(data, match_event_handler=on_match, scratch=scratch)
        return hits

    def _resolve(self, found: list[Finding]) -> list[Finding]:
        if len(found) <= 1:
            return found
        found.sort(key=lambda f: f.start)
        end = -1
        for f in found:
            if f.start < end:
                break
            end = f.end
        else:
            return found  # no overlaps: the common case
        prio = self._priority
        ranked = sorted(
            found,
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


def _slices(text: str) -> Iterator[str]:
    for i in range(0, len(text), CHUNK):
        yield text[i : i + CHUNK]


def _compile_prefilter(specs: Sequence[PatternSpec]) -> tuple[Any, frozenset[int]]:
    """One Hyperscan database over the specs; specs Hyperscan cannot take always run.

    The compiled database (and which specs it could not take) is cached on disk, keyed by the
    patterns, so only the first process on a machine pays the compile.
    """
    expressions = [_hs_pattern(spec) for spec in specs]
    material = b"prefilter\0%d\0" % _HS_FLAGS + b"\0".join(expressions)
    blob = cached_blob(material, lambda: _build_prefilter(expressions))
    n_always = int.from_bytes(blob[:4], "big")
    always = frozenset(int.from_bytes(blob[4 + 4 * k : 8 + 4 * k], "big") for k in range(n_always))
    body = blob[4 + 4 * n_always :]
    db = hyperscan.loadb(body, hyperscan.HS_MODE_BLOCK) if body else None
    return db, always


def _build_prefilter(expressions: Sequence[bytes]) -> bytes:
    """``len(always) | always ids | serialized database`` (4-byte big-endian integers)."""
    ok: list[int] = []
    always: list[int] = []
    for i, expr in enumerate(expressions):
        db = hyperscan.Database()
        try:
            db.compile(expressions=[expr], ids=[i], elements=1, flags=[_HS_FLAGS])
        except hyperscan.error:
            always.append(i)
        else:
            ok.append(i)
    head = len(always).to_bytes(4, "big") + b"".join(i.to_bytes(4, "big") for i in always)
    if not ok:
        return head
    db = hyperscan.Database()
    db.compile(
        expressions=[expressions[i] for i in ok],
        ids=ok,
        elements=len(ok),
        flags=[_HS_FLAGS] * len(ok),
    )
    return head + bytes(hyperscan.dumpb(db))


def _hs_pattern(spec: PatternSpec) -> bytes:
    # Word boundaries are costly in Hyperscan; without them the prefilter only gets looser.
    return (spec.prefilter or spec.regex).replace(r"\b", "").encode("utf-8")
