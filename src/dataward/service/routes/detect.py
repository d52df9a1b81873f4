"""Detection and redaction over HTTP: ``POST /v1/detect``, ``/v1/detect/records``,
``/v1/redact``.

Findings carry category, class, span, score and detector, never the matched text. Binary input
(NUL or many control characters) is a 422 ``binary_input`` problem. Endpoints are plain ``def``:
detection is CPU work and must not hold the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from fastapi import APIRouter, Depends

from dataward.detect import Finding, detect_record, redact
from dataward.errors import InputError
from dataward.service.context import ServiceContext
from dataward.service.deps import Caller, get_context, requires
from dataward.service.models.detect import (
    DetectRequest,
    DetectResponse,
    FieldReportOut,
    FindingOut,
    RecordReport,
    RecordsRequest,
    RecordsResponse,
    RedactRequest,
    RedactResponse,
)
from dataward.service.roles import Permission

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["detect"])

_CALLER = Depends(requires(Permission.DETECT))
_CTX = Depends(get_context)
_PSEUDONYM_LABEL = b"dataward/service/redact-pseudonym/v1"


def _known(ctx: ServiceContext, categories: Iterable[str] | None) -> frozenset[str] | None:
    """The requested categories, each checked against the taxonomy (422 with suggestions)."""
    if categories is None:
        return None
    taxonomy = ctx.policy.taxonomy
    for name in categories:
        taxonomy.get(name)
    return frozenset(categories)


def _encodable(text: str, what: str = "the text") -> None:
    """Refuse unpaired UTF-16 surrogates: they cannot be answered as UTF-8 JSON."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            f"{what} holds unpaired surrogate code points; send valid Unicode text"
        ) from None


def _select(
    findings: Iterable[Finding], keep: frozenset[str] | None, min_score: float
) -> list[Finding]:
    return [f for f in findings if f.score >= min_score and (keep is None or f.category in keep)]


@router.post(
    "/detect",
    response_model=DetectResponse,
    summary="Find personal data in a text",
    description="Returns where personal data is (offsets in Unicode code points), its category, "
    "class, score and detector; never the matched text.",
)
def detect_text(
    body: DetectRequest, caller: Caller = _CALLER, ctx: ServiceContext = _CTX
) -> DetectResponse:
    keep = _known(ctx, body.categories)
    found = _select(ctx.detector.detect(body.text, body.language), keep, body.min_score)
    return DetectResponse(findings=[FindingOut.of(f) for f in found], count=len(found))


@router.post(
    "/detect/records",
    response_model=RecordsResponse,
    summary="Classify the fields of structured records",
    description="One report per field path of each record: category and confidence from the "
    "field's name and value, and the findings inside the value (never the value).",
)
def detect_records(
    body: RecordsRequest, caller: Caller = _CALLER, ctx: ServiceContext = _CTX
) -> RecordsResponse:
    limit = ctx.config.batch_max
    if len(body.records) > limit:
        raise InputError(f"at most {limit} records per call (got {len(body.records)})")
    out = []
    for i, record in enumerate(body.records):
        reports = detect_record(record, detector=ctx.detector, language=body.language)
        for name in reports:
            _encodable(name, f"a field name of record {i}")
        out.append(RecordReport(index=i, fields=[FieldReportOut.of(r) for r in reports.values()]))
    return RecordsResponse(records=out)


def _pseudonym_key(ctx: ServiceContext) -> bytes:
    """A key for ``hash`` pseudonyms, derived from (never equal to) the blind-index key."""
    return hmac.new(ctx.vault.keystore.index_key(), _PSEUDONYM_LABEL, hashlib.sha256).digest()


@router.post(
    "/redact",
    response_model=RedactResponse,
    summary="Rewrite the personal data in a text",
    description="The text with each finding replaced according to `style`.",
)
def redact_text(
    body: RedactRequest, caller: Caller = _CALLER, ctx: ServiceContext = _CTX
) -> RedactResponse:
    _encodable(body.text)
    keep = _known(ctx, body.categories)
    found = _select(ctx.detector.detect(body.text, body.language), keep, 0.0)
    key = _pseudonym_key(ctx) if body.style == "hash" else None
    text = redact(body.text, operator=body.style, key=key, findings=found)
    return RedactResponse(
        text=text, redacted=len(found), categories=sorted({f.category for f in found})
    )
