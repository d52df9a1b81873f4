"""The reference card processor's HTTP API (FastAPI).

It stands for an outside system: dataward's :class:`~dataward.cards.HttpCardProcessor` talks to
it exactly as it would to a real processor. Every ``POST`` needs ``Authorization: Bearer <key>``
and an ``Idempotency-Key`` header; the same key always yields the same answer (one token, one
charge), a different request under a used key is refused with 409. Error bodies are
``{"error": <code>, "field": <name or null>}`` and never echo the request: FastAPI's default
422 handler (which copies the offending input into the answer) is replaced.
"""

from __future__ import annotations

import datetime as dt
import hmac
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dataward.cards.validation import Expiry, validate_card
from dataward.errors import CardValidationError
from dataward.processor_service.store import (
    IdempotencyConflictError,
    ProcessorStore,
    RefusedError,
    UnknownReferenceError,
)

__all__ = ["DEFAULT_CHARGE_LIMIT", "create_app"]

#: Charges above this many minor units are declined (a stand-in for a card's credit limit).
DEFAULT_CHARGE_LIMIT: Final = 10_000_000
_CARD_FIELDS: Final = {"pan", "cvv", "exp_month", "exp_year", "holder"}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TokenIn(_In):
    pan: str = Field(max_length=64)
    cvv: str = Field(max_length=8)
    exp_month: int
    exp_year: int
    holder: str = Field(max_length=100)


class ChargeIn(_In):
    token: str = Field(max_length=128)
    amount_minor: int = Field(gt=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class RefundIn(_In):
    charge_id: str = Field(max_length=100)
    amount_minor: int = Field(gt=0)


class DeleteIn(_In):
    token: str = Field(max_length=128)


class _ProblemError(Exception):
    def __init__(self, status: int, error: str, field: str | None = None) -> None:
        super().__init__(error)
        self.status, self.error, self.field = status, error, field


IdemKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def create_app(
    store_path: str | Path,
    *,
    api_key: str,
    store_key: bytes,
    charge_limit: int = DEFAULT_CHARGE_LIMIT,
) -> FastAPI:
    """The processor app over its own SQLite file ``store_path``, its card data sealed with
    ``store_key`` (32 bytes), accepting the bearer ``api_key``."""
    if len(api_key) < 16:
        raise ValueError("the processor API key must be at least 16 characters")
    store = ProcessorStore(store_path, store_key)
    app = FastAPI(title="dataward reference card processor", docs_url=None, redoc_url=None)
    app.state.store = store
    expected = f"Bearer {api_key}".encode()

    def authorized(authorization: Annotated[str | None, Header()] = None) -> None:
        given = (authorization or "").encode()
        if not hmac.compare_digest(given, expected):
            raise _ProblemError(401, "unauthorized")

    def idem(key: str | None) -> str:
        if not key or not 8 <= len(key) <= 200:
            raise _ProblemError(400, "idempotency_key_required")
        return key

    @app.exception_handler(_ProblemError)
    async def _problem(_: Request, exc: _ProblemError) -> JSONResponse:
        return JSONResponse({"error": exc.error, "field": exc.field}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Name the first bad field; never copy the input (it may be a card number).
        field = None
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ())]
            named = [p for p in loc if p in _CARD_FIELDS or p in {"token", "amount_minor"}]
            if named:
                field = named[0]
                break
        return JSONResponse({"error": "malformed_request", "field": field}, status_code=422)

    def run(operation: str, key: str, body: BaseModel, action: Any) -> dict[str, Any]:
        try:
            return store.once(operation, key, store.fingerprint(body.model_dump()), action)
        except IdempotencyConflictError:
            raise _ProblemError(409, "idempotency_conflict") from None
        except UnknownReferenceError as exc:
            raise _ProblemError(404, f"unknown_{exc.args[0]}") from None
        except RefusedError as exc:
            raise _ProblemError(422, str(exc.args[0])) from None

    auth = [Depends(authorized)]

    @app.get("/v1/health", dependencies=auth)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/tokens", status_code=201, dependencies=auth)
    def tokenize(body: TokenIn, idempotency_key: IdemKey = None) -> dict[str, Any]:
        key = idem(idempotency_key)
        try:
            card = validate_card(
                body.pan, body.cvv, Expiry(year=body.exp_year, month=body.exp_month), body.holder
            )
        except CardValidationError as exc:
            raise _ProblemError(422, "card_invalid", exc.field) from None
        # The CVV was checked above and goes no further: it is never stored.

        def action(db: Any) -> dict[str, Any]:
            stored = store.add_card(
                db,
                pan=card.number.reveal(),
                holder=card.holder,
                brand=card.number.brand.value,
                exp_month=card.expiry.month,
                exp_year=card.expiry.year,
            )
            return {
                "token": stored.token,
                "brand": stored.brand,
                "last4": stored.last4,
                "exp_month": stored.exp_month,
                "exp_year": stored.exp_year,
            }

        return run("tokenize", key, body, action)

    @app.post("/v1/charges", status_code=201, dependencies=auth)
    def charge(body: ChargeIn, idempotency_key: IdemKey = None) -> dict[str, Any]:
        key = idem(idempotency_key)

        def action(db: Any) -> dict[str, Any]:
            card = store.card(db, body.token)
            reason = None
            if Expiry(year=card.exp_year, month=card.exp_month).is_expired(dt.date.today()):
                reason = "expired_card"
            elif body.amount_minor > charge_limit:
                reason = "over_limit"
            status = "declined" if reason else "approved"
            charge_id = store.add_charge(
                db,
                token=body.token,
                amount_minor=body.amount_minor,
                currency=body.currency,
                status=status,
            )
            return {
                "charge_id": charge_id,
                "status": status,
                "amount_minor": body.amount_minor,
                "currency": body.currency,
                "decline_reason": reason,
            }

        return run("charge", key, body, action)

    @app.post("/v1/refunds", status_code=201, dependencies=auth)
    def refund(body: RefundIn, idempotency_key: IdemKey = None) -> dict[str, Any]:
        key = idem(idempotency_key)

        def action(db: Any) -> dict[str, Any]:
            refund_id = store.add_refund(
                db, charge_id=body.charge_id, amount_minor=body.amount_minor
            )
            return {
                "refund_id": refund_id,
                "charge_id": body.charge_id,
                "amount_minor": body.amount_minor,
            }

        return run("refund", key, body, action)

    @app.post("/v1/tokens/delete", dependencies=auth)
    def delete(body: DeleteIn, idempotency_key: IdemKey = None) -> dict[str, Any]:
        key = idem(idempotency_key)

        def action(db: Any) -> dict[str, Any]:
            store.delete_card(db, body.token)
            return {"deleted": True}

        return run("delete_token", key, body, action)

    return app
