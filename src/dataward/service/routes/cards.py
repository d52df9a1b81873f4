"""Cards over HTTP: register (to the processor), charge with the token, remove.

PAN and CVV are write-only: they go from the request to :class:`dataward.cards.CardIntake`,
which validates them and sends them to the processor over TLS; the answer is the card
reference (a vault subject holding only the sealed token and a masked display line). No
response, error or log line carries the number or the code. Without a configured processor
these endpoints answer a problem naming what to configure.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from dataward.errors import CardValidationError
from dataward.service.context import ServiceContext
from dataward.service.deps import Caller, get_context, requires
from dataward.service.models.cards import CardOut, ChargeOut, ChargeRequest, RegisterCardRequest
from dataward.service.models.common import CARD_REF_PATTERN, ID_PATTERN, NAME_PATTERN
from dataward.service.problems import field_problem
from dataward.service.roles import Permission

__all__ = ["router"]

router = APIRouter(prefix="/v1/cards", tags=["cards"])

CardRefPath = Annotated[
    str,
    Path(
        pattern=CARD_REF_PATTERN,
        description="The card reference returned at registration.",
        examples=["card:3f2a9c0d1e4b5a6978877665"],
    ),
]

_CTX = Depends(get_context)
_USE = Depends(requires(Permission.CARDS_USE))
_REMOVE = Depends(requires(Permission.CARDS_REMOVE))


@router.post(
    "",
    response_model=CardOut,
    status_code=status.HTTP_201_CREATED,
    summary="Register a card",
    description="Validates the card (Luhn, brand, expiry, CVV length), asks the policy, sends "
    "number, code and expiry to the card processor and keeps only its token, sealed. Returns "
    "the card reference, brand, last four digits and expiry; never the number.",
)
def register_card(
    body: RegisterCardRequest, caller: Caller = _USE, ctx: ServiceContext = _CTX
) -> CardOut | Response:
    intake = ctx.require_cards()
    try:
        ref = intake.register(
            body.subject_id,
            body.pan.get_secret_value(),
            body.cvv.get_secret_value(),
            body.expiry,
            body.holder,
            actor=caller.actor,
            purpose=body.purpose,
            idempotency_key=body.idempotency_key,
        )
    except CardValidationError as exc:
        failure = exc  # the library's message names the field, at most the last four digits
    else:
        return CardOut.of(ref)
    return field_problem(("body", failure.field), failure)


@router.post(
    "/{card_ref}/charges",
    response_model=ChargeOut,
    status_code=status.HTTP_201_CREATED,
    summary="Charge a card on file",
    description="Charges with the processor's token; a declined charge is a normal answer "
    "(`approved` false, `decline_reason`).",
)
def charge_card(
    card_ref: CardRefPath, body: ChargeRequest, caller: Caller = _USE, ctx: ServiceContext = _CTX
) -> ChargeOut:
    intake = ctx.require_cards()
    result = intake.charge(
        body.subject_id,
        card_ref,
        body.amount,
        body.currency,
        purpose=body.purpose,
        actor=caller.actor,
        idempotency_key=body.idempotency_key,
    )
    return ChargeOut.of(result)


@router.delete(
    "/{card_ref}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove a card",
    description="Deletes the token at the processor, then crypto-shreds the card here. An "
    "erasure: the policy must let the caller destroy card data for the purpose (billing with "
    "`billing`, the Data Protection Manager with `data_subject_request`).",
)
def remove_card(
    card_ref: CardRefPath,
    subject_id: Annotated[
        str,
        Query(pattern=ID_PATTERN, description="The card owner's subject id.", examples=["cust-1"]),
    ],
    purpose: Annotated[
        str, Query(pattern=NAME_PATTERN, description="Declared purpose.", examples=["billing"])
    ] = "billing",
    caller: Caller = _REMOVE,
    ctx: ServiceContext = _CTX,
) -> Response:
    intake = ctx.require_cards()
    intake.remove(card_ref, subject_id=subject_id, purpose=purpose, actor=caller.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
