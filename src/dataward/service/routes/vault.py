"""The vault over HTTP: store, list, use, verify, share, rectify, export, destroy, search.

Every call goes through :class:`dataward.vault.Vault` with the caller's actor (API key id and
role) and the declared purpose: the library classifies, asks the policy, protects and audits.
A policy denial is the library's :class:`~dataward.errors.PolicyDeniedError` (403 with the
rule and reason); forbidden data is 403 ``forbidden_data``, card numbers 403
``card_data_refused``. No stored value appears in an error.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from dataward.cards.intake import access_export, linked_cards
from dataward.errors import NotFoundError, ProcessorUnavailableError
from dataward.service.context import ServiceContext
from dataward.service.deps import Caller, get_context, requires
from dataward.service.models.common import FIELD_PATTERN, ID_PATTERN, NAME_PATTERN
from dataward.service.models.vault import (
    DestroyResponse,
    ExportResponse,
    FieldInfoOut,
    FieldsResponse,
    FieldValueOut,
    RectifyRequest,
    SearchRequest,
    SearchResponse,
    SharedValue,
    ShareRequest,
    ShareResponse,
    StoreRequest,
    UseRequest,
    UseResponse,
    VerifyRequest,
    VerifyResponse,
)
from dataward.service.roles import Permission

__all__ = ["router"]

router = APIRouter(prefix="/v1/subjects", tags=["vault"])

SubjectPath = Annotated[
    str,
    Path(
        pattern=ID_PATTERN,
        description="The subject's opaque reference.",
        examples=["cust-1042"],
    ),
]
FieldPath = Annotated[
    str, Path(pattern=FIELD_PATTERN, description="The field name.", examples=["email"])
]


PurposeQuery = Annotated[
    str,
    Query(
        pattern=NAME_PATTERN,
        description="The declared purpose of the action.",
        examples=["data_subject_request"],
    ),
]


_CTX = Depends(get_context)
_WRITE = Depends(requires(Permission.VAULT_WRITE))
_READ = Depends(requires(Permission.VAULT_READ))
_SHARE = Depends(requires(Permission.VAULT_SHARE))
_ERASE = Depends(requires(Permission.VAULT_ERASE))


def _retention(ctx: ServiceContext, category: str) -> str | None:
    found = ctx.policy.retention_for(category)
    return None if found is None else str(found)


@router.post(
    "/{subject_id}/fields",
    response_model=FieldsResponse,
    status_code=status.HTTP_201_CREATED,
    summary="Store fields of a subject",
    description="Classifies each value (or takes the given category), asks the policy "
    "(create, store) for the caller's role and purpose, encrypts or hashes as the policy "
    "obliges and audits; all fields or none. The answer never holds a value.",
)
def store_fields(
    subject_id: SubjectPath, body: StoreRequest, caller: Caller = _WRITE, ctx: ServiceContext = _CTX
) -> FieldsResponse:
    infos = ctx.vault.store_many(
        [(subject_id, f.field, f.value, f.category) for f in body.fields],
        purpose=body.purpose,
        actor=caller.actor,
    )
    return FieldsResponse(
        subject_id=subject_id,
        fields=[FieldInfoOut.of(i, _retention(ctx, i.category)) for i in infos],
    )


@router.get(
    "/{subject_id}/fields",
    response_model=FieldsResponse,
    summary="List what is held about a subject",
    description="Field names, categories, classes, protection and retention dates; no value. "
    "Audited as `access` with the declared purpose.",
)
def list_fields(
    subject_id: SubjectPath,
    purpose: PurposeQuery,
    caller: Caller = _READ,
    ctx: ServiceContext = _CTX,
) -> FieldsResponse:
    infos = ctx.vault.list_fields(subject_id, purpose=purpose, actor=caller.actor)
    return FieldsResponse(
        subject_id=subject_id,
        fields=[FieldInfoOut.of(i, _retention(ctx, i.category)) for i in infos],
    )


@router.post(
    "/{subject_id}/use",
    response_model=UseResponse,
    summary="Read fields for a declared purpose",
    description="Values as the policy lets the caller's role see them for the purpose: masked "
    "when the policy obliges, null for protected (high-class or hashed) values. Audited.",
)
def use_fields(
    subject_id: SubjectPath, body: UseRequest, caller: Caller = _READ, ctx: ServiceContext = _CTX
) -> UseResponse:
    got = ctx.vault.use(subject_id, body.fields, purpose=body.purpose, actor=caller.actor)
    return UseResponse(
        subject_id=subject_id,
        purpose=body.purpose,
        fields=[FieldValueOut.of(got[name]) for name in body.fields if name in got],
    )


@router.post(
    "/{subject_id}/verify",
    response_model=VerifyResponse,
    summary="Check a secret without reading it",
    description="True when the candidate matches the stored secret (a password is compared "
    "with its slow salted hash); the secret never leaves. Audited.",
)
def verify_secret(
    subject_id: SubjectPath, body: VerifyRequest, caller: Caller = _READ, ctx: ServiceContext = _CTX
) -> VerifyResponse:
    ok = ctx.vault.verify(
        subject_id,
        body.field,
        body.candidate.get_secret_value(),
        actor=caller.actor,
        purpose=body.purpose,
    )
    return VerifyResponse(match=ok)


@router.post(
    "/{subject_id}/share",
    response_model=ShareResponse,
    summary="Hand values to a registered processor",
    description="Only to a processor of the policy, for its purpose; high-class values are "
    "never shared. The values come back in clear for transmission to that recipient. Recorded "
    "(the subject's export lists it) and audited.",
)
def share_fields(
    subject_id: SubjectPath, body: ShareRequest, caller: Caller = _SHARE, ctx: ServiceContext = _CTX
) -> ShareResponse:
    got = ctx.vault.share(
        subject_id, body.fields, recipient=body.recipient, purpose=body.purpose, actor=caller.actor
    )
    return ShareResponse(
        subject_id=subject_id,
        recipient=body.recipient,
        purpose=body.purpose,
        values=[SharedValue(field=k, value=v) for k, v in got.items()],
    )


@router.put(
    "/{subject_id}/fields/{field}",
    response_model=FieldInfoOut,
    summary="Rectify a field (Data Protection Manager)",
    description="Replaces an existing value with a new version, on the data subject's request.",
)
def rectify_field(
    subject_id: SubjectPath,
    field: FieldPath,
    body: RectifyRequest,
    caller: Caller = _ERASE,
    ctx: ServiceContext = _CTX,
) -> FieldInfoOut:
    info = ctx.vault.rectify(
        subject_id,
        field,
        body.value,
        purpose=body.purpose,
        actor=caller.actor,
        category=body.category,
    )
    return FieldInfoOut.of(info, _retention(ctx, info.category))


@router.get(
    "/{subject_id}/export",
    response_model=ExportResponse,
    summary="Export everything about a subject (Data Protection Manager)",
    description="Values (as the policy lets the DPM see them), categories, purposes, "
    "recipients and retention, and the subject's cards on file (display form, expiry; never the "
    "number or the token): the answer to an access or portability request. Audited.",
)
def export_subject(
    subject_id: SubjectPath,
    purpose: PurposeQuery = "data_subject_request",
    caller: Caller = _ERASE,
    ctx: ServiceContext = _CTX,
) -> ExportResponse:
    doc = access_export(ctx.vault, subject_id, actor=caller.actor, purpose=purpose)
    return ExportResponse.of(doc)


@router.delete(
    "/{subject_id}",
    response_model=DestroyResponse,
    summary="Destroy a subject (Data Protection Manager)",
    description="Crypto-shreds the subject (its data key is destroyed, so its values are "
    "unreadable in every copy, backups included), then removes its cards: the processor deletes "
    "each token, then the card is crypto-shredded here. A policy refusal changes nothing; a "
    "processor failure stops the erasure with only cards left, which a retry removes; cards on "
    "file without a configured processor: 503, nothing changed. Audited.",
)
def destroy_subject(
    subject_id: SubjectPath,
    purpose: PurposeQuery = "data_subject_request",
    caller: Caller = _ERASE,
    ctx: ServiceContext = _CTX,
) -> DestroyResponse:
    # The cards first listed (policy-checked, nothing changed yet), then the subject destroyed
    # (policy-checked, all or nothing), then each card removed at the processor and here: a
    # refusal changes nothing, and a processor failure leaves only cards, which a retry removes.
    cards = linked_cards(ctx.vault, subject_id, actor=caller.actor, purpose=purpose)
    if cards and ctx.cards is None:
        raise ProcessorUnavailableError(
            f"subject {subject_id!r} has {len(cards)} card(s) on file, which only the card "
            "processor can delete; configure the processor (DATAWARD_PROCESSOR_*) and retry"
        )
    try:
        cats: tuple[str, ...] = ctx.vault.destroy(subject_id, actor=caller.actor, purpose=purpose)
    except NotFoundError:
        if not cards:
            raise
        cats = ()  # a customer known here only by cards: those are the erasure
    removed: list[str] = []
    intake = ctx.cards
    if intake is not None:  # (cards without a processor were refused above)
        for ref in cards:
            intake.remove(ref, subject_id=subject_id, actor=caller.actor, purpose=purpose)
            removed.append(ref)
    return DestroyResponse(
        subject_id=subject_id, destroyed_categories=sorted(cats), removed_cards=removed
    )


@router.post(
    "/search",
    response_model=SearchResponse,
    summary="Find subjects by e-mail, customer id or phone",
    description="Looks the value up in a keyed blind index (nothing is decrypted) and returns "
    "subject ids only. The policy must allow the caller to use that category for the purpose.",
)
def search_subjects(
    body: SearchRequest, caller: Caller = _READ, ctx: ServiceContext = _CTX
) -> SearchResponse:
    found = ctx.vault.find_subjects(
        email=body.email,
        customer_id=body.customer_id,
        phone=body.phone,
        actor=caller.actor,
        purpose=body.purpose,
    )
    return SearchResponse(subject_ids=found)
