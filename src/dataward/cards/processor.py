"""The card processor interface and its real implementation: JSON over HTTPS with ``httpx``.

:class:`CardProcessor` is the small Protocol the card intake talks to. :class:`HttpCardProcessor`
speaks the wire protocol of the reference processor (``dataward-processor``):

``POST /v1/tokens``, ``/v1/charges``, ``/v1/refunds``, ``/v1/tokens/delete``, each with a JSON
body, ``Authorization: Bearer <api key>`` and an ``Idempotency-Key`` header. Tokens travel only
in bodies, never in URLs, so no access log or ``httpx`` log line can show one.

Every call carries an idempotency key, so every call may be retried: connection failures,
timeouts, HTTP 429 and 5xx are retried with exponential backoff; certificate and pin failures
are not. Every failure ends as a :class:`~dataward.errors.ProcessorError` (or a
:class:`~dataward.errors.CardValidationError` when the processor refuses the card) raised
outside any ``except`` block: no chained ``httpx`` or ``pydantic`` exception, whose text could
hold a request or response body, ever travels with it.
"""

from __future__ import annotations

import logging
import secrets
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final, Literal, Protocol, TypeVar, runtime_checkable

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from dataward.cards.model import (
    ChargeResult,
    ChargeStatus,
    ProcessorToken,
    RefundResult,
    check_amount,
    check_currency,
)
from dataward.cards.tls import PinMismatchError, build_ssl_context
from dataward.cards.validation import CardNumber, Expiry, SecurityCode
from dataward.errors import (
    CardValidationError,
    ConfigurationError,
    IdempotencyConflictError,
    InputError,
    NotFoundError,
    ProcessorError,
)

__all__ = ["CardProcessor", "HttpCardProcessor", "new_idempotency_key"]

_log = logging.getLogger("dataward.cards.processor")

_RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
_MAX_BODY: Final = 64 * 1024
_CARD_FIELDS: Final = frozenset({"pan", "cvv", "expiry", "holder"})


def new_idempotency_key() -> str:
    """A fresh random idempotency key (keep it to retry the same operation)."""
    return secrets.token_urlsafe(24)


@runtime_checkable
class CardProcessor(Protocol):
    """What dataward needs from a card processor. Implementations never log card data."""

    name: str

    def tokenize(
        self,
        pan: CardNumber,
        cvv: SecurityCode,
        expiry: Expiry,
        holder: str,
        *,
        idempotency_key: str,
    ) -> ProcessorToken: ...

    def charge(
        self, token: ProcessorToken, amount_minor: int, currency: str, *, idempotency_key: str
    ) -> ChargeResult: ...

    def refund(
        self, charge_id: str, amount_minor: int, *, idempotency_key: str
    ) -> RefundResult: ...

    def delete_token(self, token: ProcessorToken, *, idempotency_key: str) -> bool:
        """Delete the token at the processor; ``False`` if it was already gone."""
        ...


# --- wire models (strict: anything else is "garbage") -------------------------------------------


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


class _TokenOut(_Wire):
    token: str


class _ChargeOut(_Wire):
    charge_id: str
    status: Literal["approved", "declined"]
    amount_minor: int
    currency: str
    decline_reason: str | None = None


class _RefundOut(_Wire):
    refund_id: str
    charge_id: str
    amount_minor: int


class _DeleteOut(_Wire):
    deleted: bool


M = TypeVar("M", bound=_Wire)


class _ErrorOut(_Wire):
    error: str
    field: str | None = None


def _safe_code(text: str | None) -> str:
    """An error code from the processor, kept only if it looks like a code (no echoed data)."""
    if text and len(text) <= 40 and all(c.islower() or c == "_" for c in text):
        return text
    return "unspecified"


def _tls_failure(exc: BaseException) -> str | None:
    """'pin' / 'certificate' if a TLS verification failure is in the exception chain."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, PinMismatchError):
            return "pin"
        if isinstance(seen, ssl.SSLCertVerificationError):
            return "certificate"
        seen = seen.__cause__ or seen.__context__
    return None


class HttpCardProcessor:
    """A :class:`CardProcessor` over HTTPS (``httpx``), with verification, pinning and retries.

    ``base_url`` must be ``https://``. ``ca_bundle`` is the PEM file of CAs that may sign the
    processor's certificate (default: certifi's bundle); ``pins`` optionally pins the server key.
    ``timeout`` (seconds) applies to connect, read, write and pool each. ``retries`` is the
    number of retries after the first attempt; the wait doubles from ``backoff`` up to
    ``backoff_max``, with random jitter.
    """

    name = "http"

    def __init__(
        self,
        base_url: str,
        api_key: str | SecretStr,
        *,
        ca_bundle: str | Path | None = None,
        pins: Iterable[str] = (),
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.2,
        backoff_max: float = 3.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme != "https":
            raise ConfigurationError(
                "the card processor URL must start with https:// (card data only travels over "
                "TLS); fix the processor URL setting"
            )
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        if not key or not key.isprintable() or " " in key:
            raise ConfigurationError("the card processor API key is empty or not a bearer token")
        if retries < 0 or timeout <= 0:
            raise ConfigurationError("processor retries must be >= 0 and timeout > 0")
        self._origin = f"{url.scheme}://{url.host}:{url.port or 443}"
        self._retries = retries
        self._backoff = backoff
        self._backoff_max = backoff_max
        self._sleep = sleep
        ssl_context = build_ssl_context(ca_bundle, pins)
        self._client = httpx.Client(
            base_url=base_url,
            # TCP_NODELAY: headers and body go out in separate writes; without it Nagle's
            # algorithm and the peer's delayed ACK add ~40 ms to every call.
            transport=httpx.HTTPTransport(
                verify=ssl_context,
                socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            ),
            timeout=httpx.Timeout(timeout),
            headers={"Authorization": f"Bearer {key}", "Accept": "application/json"},
            follow_redirects=False,
            trust_env=False,
        )

    def __repr__(self) -> str:
        return f"HttpCardProcessor({self._origin})"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpCardProcessor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the four operations ---------------------------------------------------------------

    def tokenize(
        self,
        pan: CardNumber,
        cvv: SecurityCode,
        expiry: Expiry,
        holder: str,
        *,
        idempotency_key: str,
    ) -> ProcessorToken:
        if not isinstance(pan, CardNumber) or not isinstance(cvv, SecurityCode):
            raise CardValidationError(
                "tokenize takes a validated CardNumber and SecurityCode (see validate_card)",
                field="pan",
            )
        body = {
            "pan": pan.reveal(),
            "cvv": cvv.reveal(),
            "exp_month": expiry.month,
            "exp_year": expiry.year,
            "holder": holder,
        }
        out = self._call("tokenize", "/v1/tokens", body, idempotency_key, _TokenOut)
        token = _parse_token(out.token)
        if token is None:
            raise ProcessorError(
                "card processor returned a malformed token for tokenize; nothing was stored"
            )
        return token

    def charge(
        self, token: ProcessorToken, amount_minor: int, currency: str, *, idempotency_key: str
    ) -> ChargeResult:
        body = {
            "token": token.value,
            "amount_minor": check_amount(amount_minor),
            "currency": check_currency(currency),
        }
        out = self._call("charge", "/v1/charges", body, idempotency_key, _ChargeOut)
        if out.amount_minor != amount_minor or out.currency != currency:
            raise ProcessorError(
                "card processor answered a charge with another amount or currency than asked; "
                "reconcile charge " + _safe_id(out.charge_id) + " with the processor"
            )
        return ChargeResult(
            charge_id=_safe_id(out.charge_id),
            status=ChargeStatus(out.status),
            amount_minor=out.amount_minor,
            currency=out.currency,
            decline_reason=_safe_code(out.decline_reason) if out.decline_reason else None,
        )

    def refund(self, charge_id: str, amount_minor: int, *, idempotency_key: str) -> RefundResult:
        body = {"charge_id": charge_id, "amount_minor": check_amount(amount_minor)}
        out = self._call("refund", "/v1/refunds", body, idempotency_key, _RefundOut)
        return RefundResult(
            refund_id=_safe_id(out.refund_id),
            charge_id=_safe_id(out.charge_id),
            amount_minor=out.amount_minor,
        )

    def delete_token(self, token: ProcessorToken, *, idempotency_key: str) -> bool:
        body = {"token": token.value}
        try:
            out = self._call("delete_token", "/v1/tokens/delete", body, idempotency_key, _DeleteOut)
        except NotFoundError:
            return False
        return out.deleted

    # --- transport ---------------------------------------------------------------------------

    def _call(
        self,
        operation: str,
        path: str,
        body: Mapping[str, Any],
        idempotency_key: str,
        model: type[M],
    ) -> M:
        if not isinstance(idempotency_key, str) or not 8 <= len(idempotency_key) <= 200:
            raise ProcessorError(f"{operation}: the idempotency key must be 8 to 200 characters")
        headers = {"Idempotency-Key": idempotency_key}
        attempts = self._retries + 1
        failure = "no attempt was made"
        response: httpx.Response | None = None
        fatal: str | None = None
        for attempt in range(1, attempts + 1):
            response = None
            fatal = None
            try:
                response = self._client.post(path, json=body, headers=headers)
            except httpx.TimeoutException:
                failure = f"timed out (after {attempts} attempts)"
            except httpx.TransportError as exc:
                fatal = _tls_failure(exc)
                failure = f"is unreachable (after {attempts} attempts)"
            except httpx.RequestError:  # undecodable body (bad Content-Encoding) and the like
                fatal = "garbage"
            if fatal is not None:
                break
            if response is not None:
                _log.debug(
                    "processor %s attempt %d/%d: HTTP %d",
                    operation,
                    attempt,
                    attempts,
                    response.status_code,
                )
                if response.status_code not in _RETRY_STATUSES:
                    return self._parse(operation, response, model)
                failure = f"answered HTTP {response.status_code} (after {attempts} attempts)"
            else:
                _log.debug("processor %s attempt %d/%d: %s", operation, attempt, attempts, failure)
            if attempt < attempts:
                self._sleep(self._delay(attempt))
        if fatal == "garbage":
            raise ProcessorError(
                f"card processor answered {operation} with a body that cannot be decoded; "
                "nothing was stored. Check the processor URL"
            )
        if fatal == "pin":
            raise ProcessorError(
                f"card processor at {self._origin}: its certificate key does not match the "
                "configured pin; nothing was sent. Check the pin or the processor's certificate"
            )
        if fatal == "certificate":
            raise ProcessorError(
                f"card processor at {self._origin}: TLS certificate verification failed; "
                "nothing was sent. Check the processor CA bundle setting"
            )
        raise ProcessorError(
            f"card processor at {self._origin} {failure} during {operation}; nothing was "
            "stored, retry later with the same idempotency key"
        )

    def _delay(self, attempt: int) -> float:
        base = min(self._backoff_max, self._backoff * float(2 ** (attempt - 1)))
        jitter = secrets.randbelow(1000) / 1000.0
        return base * (0.5 + jitter / 2)

    def _parse(self, operation: str, response: httpx.Response, model: type[M]) -> M:
        status = response.status_code
        data = _json_of(response)
        if 200 <= status < 300:
            parsed = _validate(model, data)
            if parsed is None:
                raise ProcessorError(
                    f"card processor answered {operation} with HTTP {status} but a body that is "
                    "not the expected JSON; nothing was stored. Check the processor URL"
                )
            return parsed
        err = _validate(_ErrorOut, data)
        code = _safe_code(err.error if err else None)
        if status in (401, 403):
            raise ProcessorError(
                f"card processor refused our API key for {operation} (HTTP {status}); check the "
                "processor API key setting"
            )
        if status == 404:
            raise NotFoundError(
                f"card processor does not know the token or charge given to {operation} "
                f"({code}); it may have been deleted: register the card again"
            )
        if status == 409:
            raise IdempotencyConflictError(
                f"card processor refused {operation}: the idempotency key was already used for "
                "a different request; use a new key for a new operation"
            )
        if status in (400, 422) and err is not None and err.field in _CARD_FIELDS:
            raise CardValidationError(
                f"card processor refused the card's {err.field} ({code}); check it and retry",
                field=err.field,
            )
        raise ProcessorError(
            f"card processor refused {operation} with HTTP {status} ({code}); nothing was stored"
        )


def _json_of(response: httpx.Response) -> object:
    if len(response.content) > _MAX_BODY:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _validate(model: type[M], data: object) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


def _parse_token(value: str) -> ProcessorToken | None:
    try:
        return ProcessorToken(value)
    except InputError:
        return None


def _safe_id(value: str) -> str:
    if 1 <= len(value) <= 100 and all(c.isalnum() or c in "_-" for c in value) and value.isascii():
        return value
    raise ProcessorError("card processor returned a malformed identifier; reconcile manually")
