"""Models of the card routes. Card number and CVV are write-only secrets: never echoed, never
in a response, and the examples use the public test card 4242 4242 4242 4242 only."""

from __future__ import annotations

from typing import Final

from pydantic import ConfigDict, Field, SecretStr

from dataward.cards import ChargeResult
from dataward.cards.intake import CardRef
from dataward.service.models.common import Purpose, RequestModel, ResponseModel, SubjectId

__all__ = [
    "IDEMPOTENCY_PATTERN",
    "CardOut",
    "ChargeOut",
    "ChargeRequest",
    "RegisterCardRequest",
]

IDEMPOTENCY_PATTERN: Final = r"^[A-Za-z0-9_-]{8,200}$"

_IDEMPOTENCY_DESCRIPTION = (
    "Retrying with the same key repeats the same operation once (8-200 of letters, digits, _ -); "
    "omitted, a fresh key is used and a retry is a new operation."
)


class RegisterCardRequest(RequestModel):
    """A card to put on file. PAN and CVV go to the processor only; dataward keeps its token."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "subject_id": "cust-1042",
                    "pan": "4242 4242 4242 4242",
                    "cvv": "123",
                    "expiry": "12/2030",
                    "holder": "Jane Doe",
                }
            ]
        },
    )

    subject_id: SubjectId
    pan: SecretStr = Field(
        min_length=1,
        max_length=64,
        description="Card number (spaces and dashes allowed). Write-only: never stored, never "
        "returned, never in an error.",
        examples=["4242 4242 4242 4242"],
    )
    cvv: SecretStr = Field(
        min_length=1,
        max_length=8,
        description="Security code. Write-only: goes to the processor only.",
        examples=["123"],
    )
    expiry: str = Field(
        min_length=1, max_length=16, description="`MM/YY` or `MM/YYYY`.", examples=["12/2030"]
    )
    holder: str = Field(
        min_length=1, max_length=100, description="Cardholder name.", examples=["Jane Doe"]
    )
    purpose: Purpose = Field("billing", examples=["billing"])
    idempotency_key: str | None = Field(
        None, pattern=IDEMPOTENCY_PATTERN, description=_IDEMPOTENCY_DESCRIPTION
    )


class CardOut(ResponseModel):
    """The card on file: its reference and what may be displayed. Never the number."""

    card_ref: str = Field(
        description="The card's reference (use it to charge or remove the card).",
        examples=["card:3f2a9c0d1e4b5a6978877665"],
    )
    subject_id: str = Field(examples=["cust-1042"])
    brand: str = Field(examples=["visa"])
    last4: str = Field(pattern=r"^[0-9]{4}$", examples=["4242"])
    expiry: str = Field(description="`MM/YYYY`.", examples=["12/2030"])
    display: str = Field(examples=["visa ****4242 12/2030"])

    @classmethod
    def of(cls, ref: CardRef) -> CardOut:
        return cls(
            card_ref=ref.ref,
            subject_id=ref.subject_id,
            brand=ref.brand.value,
            last4=ref.last4,
            expiry=f"{ref.expiry.month:02d}/{ref.expiry.year}",
            display=ref.display,
        )


class ChargeRequest(RequestModel):
    """Charge a card on file with the processor's token (the card number is not needed)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"subject_id": "cust-1042", "amount": 1250, "currency": "CHF"}]
        },
    )

    subject_id: SubjectId
    amount: int = Field(
        gt=0,
        le=10**12,
        description="Amount in the currency's minor unit (1250 = 12.50).",
        examples=[1250],
    )
    currency: str = Field(
        pattern=r"^[A-Z]{3}$", description="ISO 4217 code in capitals.", examples=["CHF"]
    )
    purpose: Purpose = Field("billing", examples=["billing"])
    idempotency_key: str | None = Field(
        None, pattern=IDEMPOTENCY_PATTERN, description=_IDEMPOTENCY_DESCRIPTION
    )


class ChargeOut(ResponseModel):
    charge_id: str = Field(examples=["ch_8f2c1d"])
    status: str = Field(description="`approved` or `declined`.", examples=["approved"])
    approved: bool
    amount: int = Field(description="Minor units.", examples=[1250])
    currency: str = Field(examples=["CHF"])
    decline_reason: str | None = Field(None, examples=[None])

    @classmethod
    def of(cls, r: ChargeResult) -> ChargeOut:
        return cls(
            charge_id=r.charge_id,
            status=r.status.value,
            approved=r.approved,
            amount=r.amount_minor,
            currency=r.currency,
            decline_reason=r.decline_reason,
        )
