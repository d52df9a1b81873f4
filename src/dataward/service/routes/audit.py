"""The audit log over HTTP: query, verify, checkpoints, proofs, public keys.

Read by auditors, the Data Protection Manager and administrators (``audit.read``); signing a
checkpoint is an administrator's act (``audit.write``). Entries hold identifiers and
vocabulary only, so nothing here can leak a personal value.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from dataward.audit import AuditEntry
from dataward.errors import InputError
from dataward.service.context import ServiceContext
from dataward.service.deps import Caller, get_context, requires
from dataward.service.models.audit import (
    DEFAULT_PAGE,
    MAX_PAGE,
    CheckpointOut,
    CheckpointsResponse,
    ConsistencyProofOut,
    EntriesResponse,
    EntryOut,
    InclusionProofOut,
    KeysResponse,
    PublicKeyOut,
    VerifyOut,
)
from dataward.service.models.common import CATEGORY_PATTERN, ID_PATTERN, NAME_PATTERN
from dataward.service.roles import Permission

__all__ = ["router"]

router = APIRouter(prefix="/v1/audit", tags=["audit"])

_CTX = Depends(get_context)
_READ = Depends(requires(Permission.AUDIT_READ))
_WRITE = Depends(requires(Permission.AUDIT_WRITE))
_SEQ_MAX = 2**62


@router.get(
    "/entries",
    response_model=EntriesResponse,
    summary="Query the audit log",
    description="Entries matching every given filter, oldest first, a page at a time: pass "
    "`next_after_seq` of one answer as `after_seq` of the next.",
)
def list_entries(
    subject_ref: Annotated[str | None, Query(pattern=ID_PATTERN, examples=["cust-1042"])] = None,
    actor_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    category: Annotated[
        str | None, Query(pattern=CATEGORY_PATTERN, max_length=128, examples=["contact.email"])
    ] = None,
    action: Annotated[str | None, Query(pattern=NAME_PATTERN, examples=["use"])] = None,
    since: Annotated[
        datetime | None, Query(description="Inclusive; ISO 8601 with an offset.")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="Exclusive; ISO 8601 with an offset.")
    ] = None,
    after_seq: Annotated[int, Query(ge=0, le=_SEQ_MAX, description="Entries after this.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    caller: Caller = _READ,
    ctx: ServiceContext = _CTX,
) -> EntriesResponse:
    found = ctx.audit.query(
        subject_ref=subject_ref,
        actor_id=actor_id,
        category=category,
        action=action,
        since=_aware(since, "since"),
        until=_aware(until, "until"),
        after_seq=after_seq,
        limit=limit + 1,
    )
    page = _page(found)
    more = len(page) > limit
    page = page[:limit]
    return EntriesResponse(
        entries=[EntryOut.of(e) for e in page],
        next_after_seq=page[-1].seq if more else None,
    )


def _page(entries: Iterator[AuditEntry]) -> list[AuditEntry]:
    """The stream's entries (oldest first); its read connection is released at once."""
    try:
        return list(entries)
    finally:
        close = getattr(entries, "close", None)
        if callable(close):
            close()


def _within(ctx: ServiceContext, size: int | None, what: str) -> None:
    """A tree size past the log's end is the caller's mistake (422), not a broken log."""
    if size is not None:
        head = ctx.audit.head()[0]
        if size > head:
            raise InputError(f"{what} {size} is larger than the log ({head} entries)")


def _aware(when: datetime | None, what: str) -> datetime | None:
    """Timestamps without an offset are taken as UTC (the log's clock); one that has no UTC
    equivalent (year 1 east of Greenwich, year 9999 west of it) is refused."""
    if when is None:
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    try:
        when.astimezone(UTC)
    except OverflowError:
        raise InputError(f"{what} is out of range once converted to UTC") from None
    return when


@router.post(
    "/verify",
    response_model=VerifyOut,
    summary="Verify the whole log",
    description="Recomputes the hash chain and the Merkle tree and checks every checkpoint's "
    "signature and root. A failed check is a normal answer (`ok` false, `first_bad_seq`).",
)
def verify_log(caller: Caller = _READ, ctx: ServiceContext = _CTX) -> VerifyOut:
    # One process: forking a worker pool from a threaded server is not safe.
    return VerifyOut.of(ctx.audit.verify(workers=1))


@router.get(
    "/checkpoints",
    response_model=CheckpointsResponse,
    summary="List signed checkpoints",
)
def list_checkpoints(caller: Caller = _READ, ctx: ServiceContext = _CTX) -> CheckpointsResponse:
    return CheckpointsResponse(checkpoints=[CheckpointOut.of(c) for c in ctx.audit.checkpoints()])


@router.post(
    "/checkpoints",
    response_model=CheckpointOut,
    status_code=status.HTTP_201_CREATED,
    summary="Sign a checkpoint of the current log (administrator)",
)
def create_checkpoint(caller: Caller = _WRITE, ctx: ServiceContext = _CTX) -> CheckpointOut:
    return CheckpointOut.of(ctx.audit.checkpoint())


@router.get(
    "/proofs/inclusion/{seq}",
    response_model=InclusionProofOut,
    summary="Prove that an entry is in the log",
    description="RFC 9162 inclusion proof of entry `seq` in the tree of `size` entries "
    "(default: the whole log).",
)
def inclusion_proof(
    seq: Annotated[int, Path(ge=1, le=_SEQ_MAX, examples=[1])],
    size: Annotated[int | None, Query(ge=1, le=_SEQ_MAX)] = None,
    caller: Caller = _READ,
    ctx: ServiceContext = _CTX,
) -> InclusionProofOut:
    _within(ctx, size, "size")
    return InclusionProofOut.of(ctx.audit.prove_inclusion(seq, size))


@router.get(
    "/proofs/consistency",
    response_model=ConsistencyProofOut,
    summary="Prove that an older log is a prefix of a newer one",
    description="RFC 9162 consistency proof between the trees of `first` and `second` entries "
    "(default `second`: the whole log).",
)
def consistency_proof(
    first: Annotated[int, Query(ge=1, le=_SEQ_MAX, examples=[1])],
    second: Annotated[int | None, Query(ge=1, le=_SEQ_MAX)] = None,
    caller: Caller = _READ,
    ctx: ServiceContext = _CTX,
) -> ConsistencyProofOut:
    _within(ctx, second, "second")
    return ConsistencyProofOut.of(ctx.audit.prove_consistency(first, second))


@router.get(
    "/keys",
    response_model=KeysResponse,
    summary="Public keys that sign checkpoints",
)
def public_keys(caller: Caller = _READ, ctx: ServiceContext = _CTX) -> KeysResponse:
    keys = ctx.audit.public_keys()
    return KeysResponse(
        keys=[
            PublicKeyOut(
                key_id=kid,
                public_key=base64.b64encode(raw).decode("ascii"),
                public_key_hex=raw.hex(),
            )
            for kid, raw in sorted(keys.items())
        ]
    )
