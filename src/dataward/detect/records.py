"""Records and tables: a category and a confidence per field or column, findings in free text.

Evidence comes from two places: the field name (multilingual, see
:mod:`dataward.detect.fieldnames`) and the values (a value that is one finding from end to end,
e.g. a whole e-mail address). When both agree the confidence is high; a value category that
clearly wins over the name wins; free-text fields keep their findings.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataward.detect.engine import Detector
from dataward.detect.fieldnames import category_for_field
from dataward.detect.model import Finding
from dataward.errors import InputError
from dataward.taxonomy import DataClass, default_taxonomy

__all__ = ["ColumnReport", "FieldReport", "classify_columns", "detect_record"]

_WHOLE = 0.8  # a finding covering this share of a value classifies the value
_NAME_ONLY = 0.7
_AGREE = 0.97
_FREE_TEXT_CHARS = 40


@dataclass(frozen=True, slots=True)
class FieldReport:
    """What one field of a record holds."""

    field: str
    category: str | None
    data_class: DataClass | None
    confidence: float
    source: str  # "name", "value", "name+value" or "none"
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True, slots=True)
class ColumnReport:
    """What one column of a table holds, from its name and a sample of its values."""

    column: str
    category: str | None
    data_class: DataClass | None
    confidence: float
    source: str
    sampled: int
    value_categories: Mapping[str, int] = field(default_factory=dict)


def _class(category: str | None) -> DataClass | None:
    return default_taxonomy().class_of(category) if category else None


def _value_category(value: str, findings: Sequence[Finding]) -> tuple[str | None, float]:
    stripped = value.strip()
    if not stripped or not findings:
        return None, 0.0
    best = max(findings, key=lambda f: f.length)
    if best.length >= _WHOLE * len(stripped):
        return best.category, best.score
    return None, 0.0


def _combine(
    name_cat: str | None, value_cat: str | None, value_score: float, has_value: bool
) -> tuple[str | None, float, str]:
    if name_cat and value_cat:
        if name_cat == value_cat:
            return name_cat, max(_AGREE, value_score), "name+value"
        # The value is strong evidence; the name may be generic ("note", "text").
        return value_cat, value_score, "value"
    if value_cat:
        return value_cat, value_score, "value"
    if name_cat:
        return name_cat, _NAME_ONLY if has_value else _NAME_ONLY - 0.1, "name"
    return None, 0.0, "none"


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, name + ".")
        else:
            yield name, value


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (list, tuple)):
        return " ; ".join(t for t in (_text(v) for v in value) if t)
    return str(value)


def detect_record(
    mapping: Mapping[str, Any],
    *,
    detector: Detector | None = None,
    language: str | None = None,
) -> dict[str, FieldReport]:
    """A :class:`FieldReport` per field of ``mapping`` (nested mappings give dotted names)."""
    if not isinstance(mapping, Mapping):
        raise InputError(f"detect_record() takes a mapping, not {type(mapping).__name__}")
    det = detector or Detector.default()
    out: dict[str, FieldReport] = {}
    for name, raw in _flatten(mapping):
        key = str(name)
        value = _text(raw)
        findings = det.detect(value, language) if value else []
        value_cat, value_score = _value_category(value or "", findings)
        name_cat = category_for_field(key.rsplit(".", 1)[-1])
        cat, conf, source = _combine(name_cat, value_cat, value_score, bool(value))
        # Secrets and card data are what they are, whatever the field is called.
        out[key] = FieldReport(key, cat, _class(cat), round(conf, 4), source, tuple(findings))
    return out


# --- tables -----------------------------------------------------------------------------------


def classify_columns(
    table: Any,
    *,
    sample: int = 200,
    detector: Detector | None = None,
    language: str | None = None,
) -> dict[str, ColumnReport]:
    """A :class:`ColumnReport` per column of ``table``.

    ``table`` may be a mapping of column -> values, a list of dicts, a CSV or JSON Lines file
    path (``.csv``, ``.jsonl``/``.ndjson``) or text, a ``pyarrow.Table`` or a
    ``pandas.DataFrame``. Up to ``sample`` rows are read.
    """
    det = detector or Detector.default()
    columns, rows = _rows(table, sample)
    values: dict[str, list[str]] = {c: [] for c in columns}
    for row in rows:
        for c in columns:
            v = _text(row.get(c))
            if v is not None and v.strip():
                values[c].append(v)
    out: dict[str, ColumnReport] = {}
    for c in columns:
        counts: Counter[str] = Counter()
        scores: dict[str, float] = {}
        free_text = 0
        for v in values[c]:
            findings = det.detect(v, language)
            cat, score = _value_category(v, findings)
            if cat:
                counts[cat] += 1
                scores[cat] = max(scores.get(cat, 0.0), score)
            else:
                if len(v) >= _FREE_TEXT_CHARS:
                    free_text += 1
                for f in findings:
                    counts[f.category] += 0  # mentioned in free text, not the column's content
        n = len(values[c])
        value_cat: str | None = None
        value_conf = 0.0
        if counts and n:
            top, hits = counts.most_common(1)[0]
            share = hits / n
            if share >= 0.5:
                value_cat, value_conf = top, min(scores.get(top, 0.0), 0.5 + share / 2)
        name_cat = category_for_field(c)
        cat, conf, source = _combine(name_cat, value_cat, value_conf, n > 0)
        if cat is None and free_text and free_text >= n / 2:
            cat, conf, source = "communication.support_message", 0.5, "value"
        out[c] = ColumnReport(
            column=c,
            category=cat,
            data_class=_class(cat),
            confidence=round(conf, 4),
            source=source,
            sampled=n,
            value_categories={k: v for k, v in counts.items() if v},
        )
    return out


def _rows(table: Any, sample: int) -> tuple[list[str], list[Mapping[str, Any]]]:
    module = type(table).__module__.split(".", 1)[0]
    if module == "pyarrow" and hasattr(table, "to_pylist"):
        sliced = table.slice(0, sample)
        return [str(n) for n in table.column_names], list(sliced.to_pylist())
    if module == "pandas" and hasattr(table, "to_dict"):
        head = table.head(sample)
        return [str(c) for c in table.columns], list(head.to_dict("records"))
    if isinstance(table, Path) or (isinstance(table, str) and _is_path(table)):
        return _read_path(Path(table), sample)
    if isinstance(table, str):
        return _parse_text(table, sample, "<text>")
    if isinstance(table, Mapping):
        if table and all(isinstance(v, (list, tuple)) for v in table.values()):
            n = min(sample, max(len(v) for v in table.values()))
            columnar: list[Mapping[str, Any]] = [
                {k: (v[i] if i < len(v) else None) for k, v in table.items()} for i in range(n)
            ]
            return [str(k) for k in table], columnar
        return [str(k) for k in table], [table]
    if isinstance(table, Iterable):
        rows: list[Mapping[str, Any]] = []
        for i, row in enumerate(table):
            if i >= sample:
                break
            if not isinstance(row, Mapping):
                raise InputError(f"row {i + 1} is a {type(row).__name__}, not a mapping")
            rows.append(row)
        return _columns_of(rows), rows
    raise InputError(
        f"classify_columns() cannot read a {type(table).__name__}; pass a mapping, a list of "
        "dicts, a CSV/JSON Lines path or text, a pyarrow Table or a pandas DataFrame"
    )


def _columns_of(rows: list[Mapping[str, Any]]) -> list[str]:
    cols: dict[str, None] = {}
    for row in rows:
        cols.update(dict.fromkeys(str(k) for k in row))
    return list(cols)


def _is_path(text: str) -> bool:
    if "\n" in text or len(text) > 4096:
        return False
    try:
        return Path(text).is_file()
    except OSError:
        return False


def _read_path(path: Path, sample: int) -> tuple[list[str], list[Mapping[str, Any]]]:
    try:
        with path.open(encoding="utf-8", errors="replace", newline="") as fh:
            head = "".join(line for _, line in zip(range(sample + 1), fh, strict=False))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    return _parse_text(head, sample, str(path))


def _parse_text(text: str, sample: int, source: str) -> tuple[list[str], list[Mapping[str, Any]]]:
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if first.lstrip().startswith("{"):
        rows: list[Mapping[str, Any]] = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                raise InputError(f"{source}: line {lineno} is not valid JSON") from None
            if not isinstance(obj, dict):
                raise InputError(f"{source}: line {lineno} is not a JSON object")
            rows.append(obj)
            if len(rows) >= sample:
                break
        return _columns_of(rows), rows
    reader = csv.DictReader(io.StringIO(text))
    try:
        out: list[Mapping[str, Any]] = [row for _, row in zip(range(sample), reader, strict=False)]
    except csv.Error:
        raise InputError(f"{source}: not valid CSV") from None
    return [str(c) for c in (reader.fieldnames or [])], out
