"""The policy file format: pydantic models, and YAML reading that keeps line numbers.

Every schema error becomes a :class:`SchemaIssue` naming the line and what to write instead.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from dataward.policy.model import IsoDuration, Obligation
from dataward.taxonomy import Action, DataClass

__all__ = [
    "LineMap",
    "PolicyFile",
    "RuleModel",
    "SchemaIssue",
    "read_policy_text",
    "read_yaml",
    "validation_issues",
]

Path_ = tuple[str | int, ...]
_ID = r"^[a-z0-9][a-z0-9_.-]*$"


def _duration(value: Any) -> Any:
    return value if isinstance(value, IsoDuration) else IsoDuration.parse(str(value))


Duration = Annotated[IsoDuration, BeforeValidator(_duration)]


def _actions(value: Any) -> Any:
    if value in ("all", "*"):
        return list(Action)
    return [value] if isinstance(value, str) else value


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class MetadataModel(_Strict):
    version: str = Field(min_length=1)
    effective: date
    next_review: date | None = None
    owner: str = Field(min_length=1)


class SettingsModel(_Strict):
    audit_retention: Duration = IsoDuration(years=1)


class CategoryModel(_Strict):
    class_: DataClass = Field(alias="class")
    description: str = ""


class ProcessorModel(_Strict):
    purpose: str
    categories: list[str] = Field(min_length=1)
    dpa: str = Field(min_length=1)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    description: str = ""


class RetentionModel(_Strict):
    keep: Duration
    archive: Duration | None = None


class RuleModel(_Strict):
    id: str = Field(pattern=_ID)
    class_: DataClass | None = Field(default=None, alias="class")
    category: str | None = None
    categories: list[str] | None = None
    actions: Annotated[list[Action], BeforeValidator(_actions)] = Field(min_length=1)
    effect: Literal["allow", "deny"]
    roles: Annotated[list[str] | None, BeforeValidator(_listify)] = None
    purposes: Annotated[list[str] | None, BeforeValidator(_listify)] = None
    recipients: Annotated[list[str] | None, BeforeValidator(_listify)] = None
    obligations: Annotated[list[Obligation], BeforeValidator(_listify)] = []
    retention: RetentionModel | None = None
    cites: str = Field(min_length=1)
    description: str = ""


class PolicyFile(_Strict):
    metadata: MetadataModel
    settings: SettingsModel = SettingsModel()
    roles: dict[str, str] = {}
    purposes: dict[str, str] = {}
    categories: dict[str, CategoryModel] = {}
    processors: dict[str, ProcessorModel] = {}
    rules: list[RuleModel] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class SchemaIssue:
    line: int
    message: str


class LineMap:
    """Maps a path in the document (keys and list indexes) to the line it starts on (1-based)."""

    def __init__(self, lines: Mapping[Path_, int]) -> None:
        self._lines = dict(lines)

    def line(self, *path: str | int) -> int:
        """The line of ``path``, else of its nearest ancestor that has one."""
        p: Path_ = tuple(path)
        while p:
            if p in self._lines:
                return self._lines[p]
            p = p[:-1]
        return self._lines.get((), 1)

    def key_line(self, *path: str | int) -> int:
        """The line of the mapping key at ``path`` (same as :meth:`line` for keys)."""
        return self.line(*path)


# Hints: "what to write instead", by the name of the field in error.
_HINTS: dict[str, str] = {
    "effect": "write `effect: allow` or `effect: deny`",
    "actions": "write a list of create, store, use, share, archive, destroy (or `all`), "
    "e.g. `actions: [store, use]`",
    "class": "write one of low, medium, high, special, forbidden",
    "obligations": "write a list of encrypt, hash, tokenize, mask, audit",
    "cites": 'add `cites: "<the sentence of the agreement this rule implements>"`',
    "id": "write a lower-case id such as `low-support-use` (letters, digits, - _ .)",
    "keep": "write an ISO-8601 duration such as `keep: P3Y`",
    "archive": "write an ISO-8601 duration such as `archive: P7Y`, or leave it out",
    "audit_retention": "write an ISO-8601 duration of at least one year, e.g. P1Y",
    "country": "write an ISO 3166 two-letter country code in capitals, e.g. CH",
    "effective": "write the date as YYYY-MM-DD, e.g. `effective: 2026-11-01`",
    "next_review": "write the date as YYYY-MM-DD, or leave it out for effective + 1 year",
    "version": 'write a version string, e.g. `version: "1.0.0"`',
    "owner": 'write the Data Protection Manager\'s contact, e.g. `owner: "DPM <dpm@example.com>"`',
    "metadata": "add a `metadata:` section with version, effective and owner",
    "rules": "add a `rules:` list with at least one rule",
    "dpa": "write the data-processing-agreement reference, e.g. `dpa: DPA-2026-01`",
    "purpose": "write the one purpose this processor serves, e.g. `purpose: billing`",
    "roles": "write a list of role names, e.g. `roles: [support]`",
    "purposes": "write a list of purpose names, e.g. `purposes: [support]`",
    "recipients": "write a list of processor names from the `processors` section",
}
_FIELDS: dict[str, type[BaseModel]] = {
    "rules": RuleModel,
    "metadata": MetadataModel,
    "processors": ProcessorModel,
    "categories": CategoryModel,
    "settings": SettingsModel,
    "retention": RetentionModel,
}


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _model_for(loc: Path_) -> type[BaseModel]:
    model: type[BaseModel] = PolicyFile
    for part in loc:
        if isinstance(part, str) and part in _FIELDS:
            model = _FIELDS[part]
    return model


def _describe(err: Mapping[str, Any]) -> tuple[Path_, str]:
    loc: Path_ = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
    kind = err["type"]
    name = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
    where = ".".join(str(p) for p in loc) or "document"
    if kind == "extra_forbidden":
        parent = _model_for(loc[:-1])
        known = _field_names(parent)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean `{close[0]}`?" if close else f"allowed here: {', '.join(known)}"
        return loc, f"unknown field `{name}` at {where}; {hint}"
    hint = _HINTS.get(name, "")
    if kind == "missing":
        return loc, f"missing field `{name}` at {where}; {hint or 'add it'}"
    detail = str(err.get("msg", "invalid value"))
    if kind == "value_error":
        detail = detail.removeprefix("Value error, ")
    return loc, f"invalid {where}: {detail}" + (f"; {hint}" if hint else "")


def _record(
    node: yaml.Node, path: Path_, lines: dict[Path_, int], issues: list[SchemaIssue]
) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            k = str(key.value)
            ln = key.start_mark.line + 1
            if k in seen:
                issues.append(
                    SchemaIssue(ln, f"duplicate key `{k}` (first on line {seen[k]}); keep one")
                )
            seen[k] = ln
            lines[(*path, k)] = ln
            _record(value, (*path, k), lines, issues)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _record(item, (*path, i), lines, issues)


def read_yaml(text: str) -> tuple[Any, LineMap, list[SchemaIssue]]:
    """Parse YAML keeping the line of every key and item; duplicate keys are issues."""
    lines: dict[Path_, int] = {}
    issues: list[SchemaIssue] = []
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = re.sub(r"\s+", " ", str(exc.problem or "invalid YAML"))
        msg = f"YAML syntax error: {problem}; check indentation and quoting"
        return None, LineMap(lines), [SchemaIssue(line, msg)]
    if node is not None:
        _record(node, (), lines, issues)
    return data, LineMap(lines), issues


def validation_issues(exc: ValidationError, lmap: LineMap) -> list[SchemaIssue]:
    """Pydantic errors as located messages that say what to write instead."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        loc, message = _describe(err)
        out.append(SchemaIssue(lmap.line(*loc), message))
    return sorted(out, key=lambda i: i.line)


def read_policy_text(text: str) -> tuple[PolicyFile | None, LineMap, list[SchemaIssue]]:
    """Parse and validate a policy document; on errors the model is ``None``."""
    data, lmap, issues = read_yaml(text)
    if issues:
        return None, lmap, issues
    if not isinstance(data, dict):
        return (
            None,
            lmap,
            [SchemaIssue(1, "a policy is a YAML mapping with `metadata:` and `rules:` sections")],
        )
    try:
        doc = PolicyFile.model_validate(data)
    except ValidationError as exc:
        return None, lmap, validation_issues(exc, lmap)
    return doc, lmap, []
