"""The shared Hyperscan scans of a :class:`~dataward.detect.Detector`: two passes per window.

Pass one reads the UTF-8 text with one database holding the prefilter of every pattern spec
(one report per spec, ``HS_FLAG_SINGLEMATCH``) and the literals of every lexicon scanner that
reads the text as is (the first-name gazetteer). Pass two reads the case-folded text with the
literals of every folded scanner (name cues, the sensitive-data lexicon). Before, each lexicon
ran its own scan: Hyperscan's fixed cost per scan dominated on short documents. Literals are
compiled without start-of-match tracking: a hit's start is its end minus the literal's length.

Ids: ``0 .. n_specs-1`` are specs; the literal ``k`` of scanner ``s`` gets ``n_specs + base[s] + k``
in whichever database holds the scanner. The compiled databases are cached on disk
(:mod:`dataward.detect.hscache`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import hyperscan

from dataward.detect.hscache import cached_blob
from dataward.detect.lexicons import fold
from dataward.detect.lexicons.scanner import Hit, LiteralScanner, to_char_offsets
from dataward.errors import ConfigurationError

__all__ = ["SPEC_FLAGS", "ScanPlan", "Scanned"]

SPEC_FLAGS: Final = (
    hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_ALLOWEMPTY
)
#: Literals are fixed strings (word boundaries are zero-width): their start is their end minus
#: their length, so they are compiled without ``HS_FLAG_SOM_LEFTMOST`` (half the scan cost).
LITERAL_FLAGS: Final = hyperscan.HS_FLAG_UTF8


@dataclass(slots=True)
class Scanned:
    """What the two passes found in one window: spec ids to run, hits per literal scanner
    (string offsets), the folded text (``""`` when no scanner reads it) and, when pass two
    made it, the window's bytes with ASCII letters lowered (``bytes.lower()``), else None."""

    specs: set[int]
    literals: list[list[Hit]]
    low: str
    lowered: bytes | None = None


class ScanPlan:
    """Compiled databases and the routing of their ids. Thread-safe (scratch per thread)."""

    def __init__(self, spec_patterns: Sequence[bytes], scanners: Sequence[LiteralScanner]) -> None:
        self.n_specs = len(spec_patterns)
        self.n_scanners = len(scanners)
        self._any_folded = any(s.folded for s in scanners)
        route: list[tuple[int, int]] = []
        lengths: list[int] = []
        raw: list[tuple[int, bytes]] = []
        folded: list[tuple[int, bytes]] = []
        for slot, scanner in enumerate(scanners):
            for k, expr in enumerate(scanner.expressions):
                ident = self.n_specs + len(route)
                route.append((slot, k))
                lengths.append(scanner.lengths[k])
                (folded if scanner.folded else raw).append((ident, expr))
        self._route: tuple[tuple[int, int], ...] = tuple(route)
        self._lengths: tuple[int, ...] = tuple(lengths)
        material = (
            b"scanplan-v2\0%d\0%d\0" % (SPEC_FLAGS, LITERAL_FLAGS)
            + b"\0".join(spec_patterns)
            + b"\0\0raw\0"
            + b"\0".join(b"%d:%s" % pair for pair in raw)
            + b"\0\0folded\0"
            + b"\0".join(b"%d:%s" % pair for pair in folded)
        )
        blob = cached_blob(material, lambda: _build(spec_patterns, raw, folded))
        always, raw_db, folded_db = _unpack(blob)
        self.always: frozenset[int] = always
        self._raw_db: Any = raw_db
        self._folded_db: Any = folded_db
        self._local = threading.local()

    def scan(self, text: str, data: bytes) -> Scanned:
        """Both passes over one window (``data`` is ``text`` as UTF-8)."""
        specs: set[int] = set(self.always) if self.always else set()
        lists: list[list[Hit]] = [[] for _ in range(self.n_scanners)]
        scratch = self._local.__dict__.get("scratch") or self._scratch()
        ascii_text = len(data) == len(text)
        if self._raw_db is not None and data:
            found: list[Hit] = []  # literal hits, byte offsets, global ids
            self._raw_db.scan(
                data,
                match_event_handler=_raw_handler(
                    self.n_specs, self._lengths, specs.add, found.append
                ),
                scratch=scratch[0],
            )
            if found:
                self._route_hits(data if not ascii_text else None, found, lists)
        low = ""
        lowered: bytes | None = None
        if self._any_folded and text:
            low = fold(text)
            if self._folded_db is not None:
                if ascii_text:
                    ldata = lowered = data.lower()
                else:
                    ldata = low.encode("utf-8", "surrogatepass")
                folded: list[Hit] = []
                self._folded_db.scan(
                    ldata,
                    match_event_handler=_folded_handler(self.n_specs, self._lengths, folded.append),
                    scratch=scratch[1],
                )
                if folded:
                    self._route_hits(ldata if len(ldata) != len(low) else None, folded, lists)
        return Scanned(specs, lists, low, lowered)

    def _route_hits(self, data: bytes | None, hits: list[Hit], lists: list[list[Hit]]) -> None:
        """Append each hit to its scanner's list with the scanner's literal index; ``data``
        (the scanned bytes) when byte offsets must become string offsets."""
        if data is not None:
            hits = to_char_offsets(data, hits)
        route = self._route
        n_specs = self.n_specs
        for start, end, ident in hits:
            slot, k = route[ident - n_specs]
            lists[slot].append((start, end, k))

    def _scratch(self) -> tuple[Any, Any]:
        scratch: tuple[Any, Any] | None = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = (
                hyperscan.Scratch(self._raw_db) if self._raw_db is not None else None,
                hyperscan.Scratch(self._folded_db) if self._folded_db is not None else None,
            )
            self._local.scratch = scratch
        return scratch


def _raw_handler(n_specs: int, lengths: tuple[int, ...], add_spec: Any, add_hit: Any) -> Any:
    def on_raw(ident: int, _start: int, end: int, _flags: int, _ctx: Any) -> None:
        if ident < n_specs:
            add_spec(ident)
        else:
            add_hit((end - lengths[ident - n_specs], end, ident))

    return on_raw


def _folded_handler(n_specs: int, lengths: tuple[int, ...], add_hit: Any) -> Any:
    def on_folded(ident: int, _start: int, end: int, _flags: int, _ctx: Any) -> None:
        add_hit((end - lengths[ident - n_specs], end, ident))

    return on_folded


def _build(
    spec_patterns: Sequence[bytes],
    raw: Sequence[tuple[int, bytes]],
    folded: Sequence[tuple[int, bytes]],
) -> bytes:
    """``always ids | raw database | folded database``, each part length-prefixed."""
    ok: list[int] = []
    always: list[int] = []
    for i, expr in enumerate(spec_patterns):
        try:
            _compile([expr], [i], [SPEC_FLAGS])
        except hyperscan.error:
            always.append(i)  # Hyperscan cannot take it: the spec runs on every window
        else:
            ok.append(i)
    try:
        raw_db = _compile(
            [spec_patterns[i] for i in ok] + [e for _, e in raw],
            ok + [i for i, _ in raw],
            [SPEC_FLAGS] * len(ok) + [LITERAL_FLAGS] * len(raw),
        )
        folded_db = _compile(
            [e for _, e in folded], [i for i, _ in folded], [LITERAL_FLAGS] * len(folded)
        )
    except hyperscan.error as exc:
        raise ConfigurationError(
            f"the detector's literal sets could not be compiled ({exc}); reinstall dataward"
        ) from None
    head = b"".join(i.to_bytes(4, "big") for i in always)
    parts = (head, raw_db, folded_db)
    return b"".join(len(p).to_bytes(8, "big") + p for p in parts)


def _compile(expressions: list[bytes], ids: list[int], flags: list[int]) -> bytes:
    if not expressions:
        return b""
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=expressions, ids=ids, elements=len(expressions), flags=flags)
    return bytes(hyperscan.dumpb(db))


def _unpack(blob: bytes) -> tuple[frozenset[int], Any, Any]:
    parts: list[bytes] = []
    pos = 0
    for _ in range(3):
        size = int.from_bytes(blob[pos : pos + 8], "big")
        parts.append(blob[pos + 8 : pos + 8 + size])
        pos += 8 + size
    head, raw, folded = parts
    always = frozenset(int.from_bytes(head[k : k + 4], "big") for k in range(0, len(head), 4))
    raw_db = hyperscan.loadb(raw, hyperscan.HS_MODE_BLOCK) if raw else None
    folded_db = hyperscan.loadb(folded, hyperscan.HS_MODE_BLOCK) if folded else None
    return always, raw_db, folded_db
