"""One RE2 pass that tells which of several pattern specs match at all in a window.

The shared Hyperscan prefilter says which specs *may* match; for card, identity and phone
numbers it fires on almost every block of a log (long digit runs, upper-case words), and each
such spec then costs a full RE2 pass that finds nothing. Specs marked
:attr:`~dataward.detect.PatternSpec.confirm` are compiled together into one ``RE2::Set``: a
single pass over the window names the specs whose ``regex`` matches somewhere, and only those run.
A spec the set does not name has no match in the window, so its full pass would have found
nothing: the findings are the same.

The set also holds an empty pattern, which matches every text: a pass that does not report it
has failed (RE2 ran out of DFA memory) and the caller runs every fired spec, as without the set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import re2

from dataward.detect.spec import PatternSpec

__all__ = ["CONFIRM_MIN_BYTES", "CONFIRM_MIN_SPECS", "Confirmer"]

#: Below this window size one RE2 call per spec costs less than the set's pass.
CONFIRM_MIN_BYTES: Final = 4096
#: The set's pass costs about two single-pattern passes: worth it from two fired specs on.
CONFIRM_MIN_SPECS: Final = 2
_SET_MAX_MEM: Final = 64 << 20  # as for each spec (compile_re2)


class Confirmer:
    """The RE2 set of the ``confirm`` specs among ``specs`` (indices are positions in
    ``specs``). Thread-safe: RE2 sets are immutable once compiled."""

    def __init__(self, specs: Sequence[PatternSpec]) -> None:
        self.ids: frozenset[int] = frozenset(i for i, s in enumerate(specs) if s.confirm)
        self._members: tuple[int, ...] = tuple(sorted(self.ids))
        self._set: Any = None
        if not self._members:
            return
        options = re2.Options()
        options.max_mem = _SET_MAX_MEM
        rset = re2.Set.SearchSet(options)
        try:
            for i in self._members:
                rset.Add(specs[i].regex.encode("utf-8"))
            rset.Add(b"(?:)")  # the sentinel: reported by every successful pass
            rset.Compile()
        except re2.error:
            self.ids = frozenset()  # the specs run one by one, as without the set
            self._members = ()
            return
        self._set = rset._set
        self._sentinel = len(self._members)

    def matching(self, data: bytes) -> frozenset[int] | None:
        """The ``confirm`` specs whose regex matches somewhere in ``data``; None when the pass
        failed (then nothing is known)."""
        if self._set is None:
            return None
        hits: list[int] = self._set.Match(data)
        sentinel = self._sentinel
        if sentinel not in hits:
            return None
        members = self._members
        return frozenset(members[k] for k in hits if k != sentinel)
