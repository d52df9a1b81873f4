"""Data shipped with the lexicon recognizers (name gazetteers, sensitive-data lexicons).

The files are package data: plain text (one entry a line, ``#`` comments) and YAML. Loading is
lazy and cached; nothing is read at import time.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any, TypeVar

import yaml

from dataward.errors import ConfigurationError

__all__ = ["fold", "is_word_char", "keep_best", "load_lines", "load_yaml"]

_T = TypeVar("_T")


@functools.cache
def load_lines(name: str) -> tuple[str, ...]:
    """The non-empty, non-comment lines of the shipped text file ``name``."""
    text = _read(name)
    return tuple(
        s for s in (line.strip() for line in text.splitlines()) if s and not s.startswith("#")
    )


@functools.cache
def load_yaml(name: str) -> Any:
    """The parsed content of the shipped YAML file ``name``."""
    try:
        return yaml.safe_load(_read(name))
    except yaml.YAMLError as exc:
        raise ConfigurationError(
            f"the shipped lexicon {name} is not valid YAML; reinstall dataward"
        ) from exc


def _read(name: str) -> str:
    try:
        return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"the shipped lexicon {name} is missing; reinstall") from exc


def fold(text: str) -> str:
    """Lower-case ``text`` keeping every index in place (same length as the input).

    ``str.lower`` may lengthen a few characters (e.g. U+0130); those are left unchanged so that
    offsets found in the folded text are offsets in the original.
    """
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(lc := c.lower()) != 1 else lc for c in text)


def is_word_char(ch: str) -> bool:
    """True for characters that continue a word (letters, digits, underscore)."""
    return ch.isalnum() or ch == "_"


def keep_best(
    items: Iterable[_T], span: Callable[[_T], tuple[int, int]], rank: Callable[[_T], Any]
) -> list[_T]:
    """Non-overlapping items, best ``rank`` (smallest key) first, returned in text order."""
    pool = list(items)
    if len(pool) <= 1:
        return pool
    starts: list[int] = []
    ends: list[int] = []
    kept: list[tuple[int, _T]] = []
    for item in sorted(pool, key=rank):
        a, b = span(item)
        i = bisect.bisect_left(starts, b)
        if i and ends[i - 1] > a:
            continue  # overlaps the accepted span that starts last before ``b``
        starts.insert(i, a)
        ends.insert(i, b)
        kept.append((a, item))
    kept.sort(key=lambda pair: pair[0])
    return [item for _, item in kept]
