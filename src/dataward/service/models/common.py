"""Shared pieces of the request/response models: identifier rules and base classes.

The patterns repeat the vault's identifier rules (:mod:`dataward.vault.model`) so that a bad
subject id, field name or purpose is a 422 with a field path before any library call.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CARD_REF_PATTERN",
    "CATEGORY_PATTERN",
    "FIELD_PATTERN",
    "ID_PATTERN",
    "NAME_PATTERN",
    "CategoryName",
    "FieldName",
    "Purpose",
    "Recipient",
    "RequestModel",
    "ResponseModel",
    "SubjectId",
]

#: Opaque references (subject ids, recipients): as :func:`dataward.vault.model.check_id`.
ID_PATTERN: Final = r"^[A-Za-z0-9_.:-]{1,128}$"
#: Field names: as :func:`dataward.vault.model.check_field`.
FIELD_PATTERN: Final = r"^[A-Za-z][A-Za-z0-9_.-]{0,127}$"
#: Roles and purposes: as :func:`dataward.vault.model.check_name`.
NAME_PATTERN: Final = r"^[a-z][a-z0-9_]{0,63}$"
#: Taxonomy category names (``contact.email``); the taxonomy decides which exist.
CATEGORY_PATTERN: Final = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"
#: Card references made by the card intake: ``card:`` and 24 hex digits.
CARD_REF_PATTERN: Final = r"^card:[0-9a-f]{24}$"


class RequestModel(BaseModel):
    """A request body: unknown keys are an error (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")


class ResponseModel(BaseModel):
    """A response body."""

    model_config = ConfigDict(frozen=True)


SubjectId = Annotated[
    str,
    Field(
        pattern=ID_PATTERN,
        description="An opaque subject reference (1-128 of letters, digits, _ . : -); never a "
        "personal value such as an e-mail address.",
        examples=["cust-1042"],
    ),
]
FieldName = Annotated[
    str,
    Field(
        pattern=FIELD_PATTERN,
        description="A field name: a letter, then up to 127 letters, digits, _ . -.",
        examples=["email"],
    ),
]
Purpose = Annotated[
    str,
    Field(
        pattern=NAME_PATTERN,
        description="The declared purpose of the action, a purpose of the policy.",
        examples=["support"],
    ),
]
Recipient = Annotated[
    str,
    Field(
        pattern=ID_PATTERN,
        description="A processor registered in the policy's `processors:` section.",
        examples=["card-processor"],
    ),
]
CategoryName = Annotated[
    str,
    Field(
        pattern=CATEGORY_PATTERN,
        max_length=128,
        description="A category of the taxonomy, e.g. `contact.email`.",
        examples=["contact.email"],
    ),
]
