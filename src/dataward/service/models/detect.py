"""Models of ``POST /v1/detect``, ``/v1/detect/records`` and ``/v1/redact``."""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import ConfigDict, Field

from dataward.detect import FieldReport, Finding
from dataward.service.models.common import CategoryName, RequestModel, ResponseModel

__all__ = [
    "MAX_CATEGORIES",
    "MAX_RECORDS",
    "MAX_TEXT_CHARS",
    "DetectRequest",
    "DetectResponse",
    "FieldReportOut",
    "FindingOut",
    "Language",
    "RecordReport",
    "RecordsRequest",
    "RecordsResponse",
    "RedactRequest",
    "RedactResponse",
]

#: Longest text one request may carry (characters); the body limit of the service also applies.
MAX_TEXT_CHARS: Final = 1_000_000
#: Most records in one ``/v1/detect/records`` call (the service's ``batch_max`` also applies).
MAX_RECORDS: Final = 1000
MAX_CATEGORIES: Final = 256

Language = Literal["en", "fr", "de", "it"]

_TEXT_EXAMPLE = "Contact Jane at jane.doe@example.com or +41 44 668 18 00."


class FindingOut(ResponseModel):
    """One piece of personal data found: where, what, how sure. Never the matched text."""

    category: str = Field(description="Taxonomy category.", examples=["contact.email"])
    data_class: str = Field(description="Class of the category.", examples=["low"])
    start: int = Field(ge=0, description="Start offset (Unicode code points, inclusive).")
    end: int = Field(ge=1, description="End offset (Unicode code points, exclusive).")
    score: float = Field(ge=0, le=1, description="Confidence in [0, 1].", examples=[0.95])
    detector: str = Field(description="Id of the recognizer that found it.", examples=["email"])

    @classmethod
    def of(cls, f: Finding) -> FindingOut:
        return cls(
            category=f.category,
            data_class=f.data_class.value,
            start=f.start,
            end=f.end,
            score=round(f.score, 4),
            detector=f.detector,
        )


class DetectRequest(RequestModel):
    """Text to search for personal data."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"text": _TEXT_EXAMPLE, "categories": ["contact.email"], "min_score": 0.5}]
        },
    )

    text: str = Field(
        max_length=MAX_TEXT_CHARS,
        description=f"The text to scan (at most {MAX_TEXT_CHARS:,} characters; binary data, "
        "i.e. NUL or many control characters, is refused).",
        examples=[_TEXT_EXAMPLE],
    )
    categories: list[CategoryName] | None = Field(
        None,
        max_length=MAX_CATEGORIES,
        description="Report only these categories (default: every category).",
        examples=[["contact.email", "contact.phone"]],
    )
    min_score: float = Field(
        0.0, ge=0.0, le=1.0, description="Drop findings scoring below this.", examples=[0.5]
    )
    language: Language | None = Field(
        None, description="Language hint for context words and lexicons.", examples=["en"]
    )


class DetectResponse(ResponseModel):
    findings: list[FindingOut] = Field(description="Findings sorted by start offset.")
    count: int = Field(ge=0, description="Number of findings.")


class FieldReportOut(ResponseModel):
    """What one field of a record holds (from its name and its value)."""

    field: str = Field(description="Field path; nested objects give dotted paths.")
    category: str | None = Field(description="Category of the field, if any.")
    data_class: str | None = Field(description="Class of that category.")
    confidence: float = Field(ge=0, le=1, description="Confidence in [0, 1].")
    source: str = Field(description="Evidence: name, value, name+value or none.")
    findings: list[FindingOut] = Field(description="Findings inside the field's value.")

    @classmethod
    def of(cls, r: FieldReport) -> FieldReportOut:
        return cls(
            field=r.field,
            category=r.category,
            data_class=r.data_class.value if r.data_class is not None else None,
            confidence=r.confidence,
            source=r.source,
            findings=[FindingOut.of(f) for f in r.findings],
        )


class RecordsRequest(RequestModel):
    """Structured records (JSON objects) to classify field by field."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"records": [{"email": "jane.doe@example.com", "plan": "pro"}]}]
        },
    )

    records: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_RECORDS,
        description=f"1 to {MAX_RECORDS} JSON objects; nested objects give dotted field paths, "
        "lists are scanned as one text.",
        examples=[[{"email": "jane.doe@example.com", "note": "call back tomorrow"}]],
    )
    language: Language | None = Field(None, description="Language hint.", examples=["en"])


class RecordReport(ResponseModel):
    index: int = Field(ge=0, description="Position of the record in the request.")
    fields: list[FieldReportOut] = Field(description="One report per field path.")


class RecordsResponse(ResponseModel):
    records: list[RecordReport]


class RedactRequest(RequestModel):
    """Text to rewrite with its personal data replaced."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": _TEXT_EXAMPLE, "style": "replace"}]},
    )

    text: str = Field(
        max_length=MAX_TEXT_CHARS,
        description=f"The text to redact (at most {MAX_TEXT_CHARS:,} characters).",
        examples=[_TEXT_EXAMPLE],
    )
    style: Literal["replace", "mask", "hash", "drop"] = Field(
        "replace",
        description="`replace` writes the category tag (`<contact.email>`), `mask` keeps the "
        "shape (`****@*******.***`; a card number keeps its last four digits), `hash` writes a "
        "pseudonym stable for this deployment (`<contact.email:1a2b...>`), `drop` removes it.",
        examples=["replace"],
    )
    categories: list[CategoryName] | None = Field(
        None,
        max_length=MAX_CATEGORIES,
        description="Redact only these categories (default: every category found).",
    )
    language: Language | None = Field(None, description="Language hint.", examples=["en"])


class RedactResponse(ResponseModel):
    text: str = Field(
        description="The redacted text.",
        examples=["Contact Jane at <contact.email> or <contact.phone>."],
    )
    redacted: int = Field(ge=0, description="How many findings were rewritten.")
    categories: list[str] = Field(description="The categories rewritten, sorted.")
