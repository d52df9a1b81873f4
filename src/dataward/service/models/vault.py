"""Models of the vault routes: ``/v1/subjects/...``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import ConfigDict, Field, SecretStr, model_validator

from dataward.service.models.common import (
    CategoryName,
    FieldName,
    Purpose,
    Recipient,
    RequestModel,
    ResponseModel,
)
from dataward.vault import FieldInfo, FieldValue

__all__ = [
    "MAX_FIELDS",
    "MAX_VALUE_CHARS",
    "DestroyResponse",
    "ExportField",
    "ExportRecipient",
    "ExportResponse",
    "FieldInfoOut",
    "FieldValueOut",
    "FieldsResponse",
    "RectifyRequest",
    "SearchRequest",
    "SearchResponse",
    "ShareRequest",
    "ShareResponse",
    "SharedValue",
    "StoreItem",
    "StoreRequest",
    "UseRequest",
    "UseResponse",
    "VerifyRequest",
    "VerifyResponse",
]

#: Most fields in one call.
MAX_FIELDS: Final = 100
#: Longest value (characters); the vault also refuses more than 1 MiB of UTF-8.
MAX_VALUE_CHARS: Final = 1_048_576


def _utc(when: datetime | None) -> datetime | None:
    """The vault keeps naive UTC; answers carry an explicit offset."""
    if when is None:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _unique(names: list[str]) -> list[str]:
    if len(set(names)) != len(names):
        raise ValueError("each field may appear only once")
    return names


# --- store, list, rectify --------------------------------------------------------------------


class StoreItem(RequestModel):
    field: FieldName
    value: str = Field(
        min_length=1,
        max_length=MAX_VALUE_CHARS,
        description="The value (text, at most 1 MiB of UTF-8). Never echoed back.",
        examples=["jane.doe@example.com"],
    )
    category: CategoryName | None = Field(
        None,
        description="The value's category; omitted, the vault classifies the value itself "
        "(and refuses it if it finds nothing).",
    )


class StoreRequest(RequestModel):
    """Store several fields of one subject at once (all or nothing), for a declared purpose."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "purpose": "support",
                    "fields": [
                        {"field": "email", "value": "jane.doe@example.com"},
                        {"field": "name", "value": "Jane Doe", "category": "person.name"},
                    ],
                }
            ]
        },
    )

    purpose: Purpose
    fields: list[StoreItem] = Field(
        min_length=1,
        max_length=MAX_FIELDS,
        description=f"1 to {MAX_FIELDS} fields; each field name once.",
        examples=[
            [
                {"field": "email", "value": "jane.doe@example.com", "category": "contact.email"},
                {"field": "name", "value": "Jane Doe", "category": "person.name"},
            ]
        ],
    )

    @model_validator(mode="after")
    def _distinct(self) -> StoreRequest:
        _unique([f.field for f in self.fields])
        return self


class FieldInfoOut(ResponseModel):
    """What the vault holds for one field; never the value."""

    field: str = Field(examples=["email"])
    category: str = Field(examples=["contact.email"])
    data_class: str = Field(examples=["low"])
    purpose: str = Field(description="Purpose it was stored for.", examples=["support"])
    state: str = Field(description="`active` or `archived`.", examples=["active"])
    version: int = Field(ge=1, description="Increases with each rectification.")
    protection: str = Field(description="`encrypted` or `hashed`.", examples=["encrypted"])
    stored_at: datetime
    archive_due: datetime | None = Field(description="When retention moves it to the archive.")
    destroy_due: datetime | None = Field(description="When retention destroys it.")
    retention: str | None = Field(
        None, description="The policy's retention for the category.", examples=["P3Y + P7Y"]
    )

    @classmethod
    def of(cls, info: FieldInfo, retention: str | None = None) -> FieldInfoOut:
        return cls(
            field=info.field,
            category=info.category,
            data_class=info.data_class,
            purpose=info.purpose,
            state=info.state,
            version=info.version,
            protection=info.protection,
            stored_at=_utc(info.stored_at) or info.stored_at,
            archive_due=_utc(info.archive_due),
            destroy_due=_utc(info.destroy_due),
            retention=retention,
        )


class FieldsResponse(ResponseModel):
    subject_id: str = Field(examples=["cust-1042"])
    fields: list[FieldInfoOut]


class RectifyRequest(RequestModel):
    """Replace a field's value (a new version). The Data Protection Manager's job."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"value": "jane.roe@example.com"}]}
    )

    value: str = Field(
        min_length=1,
        max_length=MAX_VALUE_CHARS,
        description="The corrected value. Never echoed back.",
        examples=["jane.roe@example.com"],
    )
    category: CategoryName | None = Field(
        None, description="A new category; omitted, the field keeps its category."
    )
    purpose: Purpose = Field("data_subject_request", examples=["data_subject_request"])


# --- use, verify, share ----------------------------------------------------------------------


class UseRequest(RequestModel):
    """Read fields for a declared purpose; the policy decides what is shown, and how."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"purpose": "support", "fields": ["email", "name"]}]},
    )

    purpose: Purpose
    fields: list[FieldName] = Field(
        min_length=1, max_length=MAX_FIELDS, examples=[["email", "name"]]
    )

    @model_validator(mode="after")
    def _distinct(self) -> UseRequest:
        _unique(self.fields)
        return self


class FieldValueOut(ResponseModel):
    field: str = Field(examples=["email"])
    category: str = Field(examples=["contact.email"])
    data_class: str = Field(examples=["low"])
    value: str | None = Field(
        description="The value as the policy lets the caller see it: masked when the policy "
        "says so, null for protected (high-class or hashed) values, which only `verify` checks.",
        examples=["j***@example.com"],
    )
    masked: bool
    protected: bool
    state: str = Field(examples=["active"])

    @classmethod
    def of(cls, v: FieldValue) -> FieldValueOut:
        return cls.model_validate(v, from_attributes=True)


class UseResponse(ResponseModel):
    subject_id: str
    purpose: str
    fields: list[FieldValueOut]


class VerifyRequest(RequestModel):
    """Check a candidate against a stored secret; the secret never leaves the vault."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"field": "password", "candidate": "correct horse battery staple"}]
        },
    )

    field: FieldName
    candidate: SecretStr = Field(
        min_length=1,
        max_length=4096,
        description="The secret to check (e.g. a password typed at login). Never echoed.",
        examples=["correct horse battery staple"],
    )
    purpose: Purpose = Field("authentication", examples=["authentication"])


class VerifyResponse(ResponseModel):
    match: bool = Field(description="True when the candidate matches the stored secret.")


class ShareRequest(RequestModel):
    """Hand values to a registered processor; recorded and audited."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"fields": ["email"], "recipient": "card-processor", "purpose": "billing"}]
        },
    )

    fields: list[FieldName] = Field(min_length=1, max_length=MAX_FIELDS, examples=[["email"]])
    recipient: Recipient
    purpose: Purpose = Field(examples=["billing"])

    @model_validator(mode="after")
    def _distinct(self) -> ShareRequest:
        _unique(self.fields)
        return self


class SharedValue(ResponseModel):
    field: str = Field(examples=["email"])
    value: str = Field(
        description="The value in clear, for transmission to the recipient only.",
        examples=["jane.doe@example.com"],
    )


class ShareResponse(ResponseModel):
    subject_id: str
    recipient: str
    purpose: str
    values: list[SharedValue]


# --- export, destroy, search -----------------------------------------------------------------


class ExportField(ResponseModel):
    field: str
    category: str
    data_class: str
    value: str | None
    masked: bool
    protected: bool
    purpose: str
    state: str
    version: int
    stored_at: datetime | None
    archive_due: datetime | None
    destroy_due: datetime | None
    retention: str | None
    policy_version: str | None


class ExportRecipient(ResponseModel):
    recipient: str
    field: str
    category: str
    purpose: str
    shared_at: datetime | None


class ExportResponse(ResponseModel):
    """Everything held about one subject (a data-subject access request)."""

    subject_id: str
    created_at: datetime | None
    categories: list[str]
    purposes: list[str]
    fields: list[ExportField]
    recipients: list[ExportRecipient]
    cards: list[ExportResponse] = Field(
        default_factory=list,
        description="The subject's cards on file, one export each (reference as subject_id; "
        "display form and expiry; the processor token is listed as protected, never shown).",
    )
    cards_included: bool = Field(
        default=False,
        description="Whether the policy let the caller see card data for this purpose; when "
        "false, `cards` is empty whether or not the subject has cards.",
    )

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> ExportResponse:
        fields = [
            ExportField.model_validate(
                {**{k: v for k, v in f.items() if k != "class"}, "data_class": f["class"]}
            )
            for f in doc["fields"]
        ]
        cards = [cls.of(c) for c in doc.get("cards", ())]
        return cls.model_validate({**doc, "fields": fields, "cards": cards})


class DestroyResponse(ResponseModel):
    subject_id: str
    destroyed_categories: list[str] = Field(
        description="Categories whose values are now unreadable everywhere (key shredded)."
    )
    removed_cards: list[str] = Field(
        default_factory=list,
        description="References of the subject's cards removed first, at the card processor "
        "and here (empty without a card processor).",
        examples=[["card:3f2a9c0d1e4b5a6978877665"]],
    )


class SearchRequest(RequestModel):
    """Find subjects by an indexed value (blind index); give exactly one criterion."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "jane.doe@example.com", "purpose": "support"}]},
    )

    email: str | None = Field(None, max_length=320, examples=["jane.doe@example.com"])
    customer_id: str | None = Field(None, max_length=128, examples=["C-1042"])
    phone: str | None = Field(None, max_length=64, examples=["+41 44 668 18 00"])
    purpose: Purpose = Field(examples=["support"])

    @model_validator(mode="after")
    def _one(self) -> SearchRequest:
        given = [v for v in (self.email, self.customer_id, self.phone) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of email, customer_id, phone")
        return self


class SearchResponse(ResponseModel):
    subject_ids: list[str] = Field(description="Matching subjects, sorted; never a value.")
