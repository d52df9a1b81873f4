"""The one exception tree of dataward.

Every error dataward raises is a :class:`DatawardError`. Each class knows the exit code the CLI
uses for it and the HTTP status the service answers with, and a stable machine ``code``.

Messages name the category, rule, field or file and say what to do; they never carry a personal
value (no card number, CVV, secret, e-mail, name...). Code that raises these errors passes only
identifiers into the message.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AccessDeniedError",
    "AuditError",
    "AuditIntegrityError",
    "AuditSchemaError",
    "AuthenticationError",
    "BinaryInputError",
    "CardDataError",
    "CardValidationError",
    "CiphertextError",
    "ConfigurationError",
    "DatawardError",
    "DetectionError",
    "ForbiddenDataError",
    "IdempotencyConflictError",
    "InputError",
    "KeyStoreError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PolicyDeniedError",
    "PolicyError",
    "PolicyFileError",
    "ProcessorError",
    "ProcessorUnavailableError",
    "RateLimitedError",
    "StorageError",
    "UnknownCategoryError",
]


class DatawardError(Exception):
    """Root of every error dataward raises."""

    exit_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 500
    code: ClassVar[str] = "dataward_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(DatawardError):
    """A setting, a key file or the data directory is missing or wrong."""

    exit_code = 78  # EX_CONFIG
    http_status = 500
    code = "configuration_error"


class InputError(DatawardError):
    """The caller passed something dataward cannot accept (wrong type, too large, malformed)."""

    exit_code = 65  # EX_DATAERR
    http_status = 422
    code = "invalid_input"


class BinaryInputError(InputError):
    """Binary data was given where text is expected."""

    code = "binary_input"


class UnknownCategoryError(InputError, KeyError):
    """A category name that is not in the taxonomy."""

    code = "unknown_category"

    def __init__(self, category: str, suggestions: tuple[str, ...] = ()) -> None:
        hint = (
            f"; did you mean {', '.join(repr(s) for s in suggestions)}?"
            if suggestions
            else "; run `dataward policy show` or see the taxonomy for the known categories"
        )
        super().__init__(f"unknown category {category!r}{hint}")
        self.category = category
        self.suggestions = suggestions

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.message


class NotFoundError(DatawardError):
    """A subject, field, entry or key that does not exist."""

    exit_code = 66  # EX_NOINPUT
    http_status = 404
    code = "not_found"


# --- policy -------------------------------------------------------------------------------------


class PolicyError(DatawardError):
    """Anything wrong with a policy."""

    exit_code = 65
    http_status = 500
    code = "policy_error"


class PolicyFileError(PolicyError):
    """A policy file that does not parse or validate; the message names file, line and the fix."""

    code = "policy_file_invalid"

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        where = f"{path or '<policy>'}:{line}: " if line is not None else f"{path or '<policy>'}: "
        super().__init__(where + message)
        self.path = path
        self.line = line


class PolicyDeniedError(DatawardError):
    """The policy denied an action; carries the rule and the reason, never the value."""

    exit_code = 77  # EX_NOPERM
    http_status = 403
    code = "policy_denied"

    def __init__(self, message: str, *, rule_id: str | None = None) -> None:
        super().__init__(message)
        self.rule_id = rule_id


class ForbiddenDataError(PolicyDeniedError):
    """Data of a forbidden category (racial origin, health, ...) was offered. Nothing is written."""

    code = "forbidden_data"

    def __init__(self, category: str, *, field: str | None = None) -> None:
        where = f" in field {field!r}" if field else ""
        super().__init__(
            f"forbidden category {category!r}{where}: this data may never be collected, stored, "
            "used or shared; remove it from the input",
            rule_id="forbidden",
        )
        self.category = category
        self.field = field


class CardDataError(PolicyDeniedError):
    """Card numbers or CVV were offered outside the card intake. Nothing is written."""

    code = "card_data_refused"

    def __init__(self, category: str, *, field: str | None = None) -> None:
        where = f" in field {field!r}" if field else ""
        super().__init__(
            f"card data ({category}){where} is never stored here: send it to the card intake "
            "(dataward.cards.CardIntake / POST /v1/cards), which passes it to the processor and "
            "keeps only the processor's token",
            rule_id="card-data",
        )
        self.category = category
        self.field = field


# --- detection ----------------------------------------------------------------------------------


class DetectionError(DatawardError):
    """The detector could not run on this input."""

    exit_code = 65
    http_status = 422
    code = "detection_error"


# --- audit --------------------------------------------------------------------------------------


class AuditError(DatawardError):
    """The audit log could not be written or read."""

    exit_code = 74  # EX_IOERR
    http_status = 500
    code = "audit_error"


class AuditSchemaError(AuditError):
    """An audit entry that would carry a personal value or breaks the entry schema."""

    exit_code = 65
    http_status = 422
    code = "audit_entry_refused"


class AuditIntegrityError(AuditError):
    """Verification found the log altered: the message names the first bad entry."""

    exit_code = 3
    http_status = 409
    code = "audit_integrity"

    def __init__(self, message: str, *, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


# --- storage, keys, cards -----------------------------------------------------------------------


class StorageError(DatawardError):
    """The database refused or failed an operation."""

    exit_code = 74
    http_status = 503
    code = "storage_error"


class KeyStoreError(DatawardError):
    """A key could not be found, unwrapped or written."""

    exit_code = 78
    http_status = 500
    code = "key_store_error"


class CiphertextError(KeyStoreError):
    """A ciphertext or a wrapped key failed authentication: altered, moved, or the key is gone."""

    code = "ciphertext_invalid"


class CardValidationError(InputError):
    """A card failed validation (Luhn, brand, expiry, CVV length). Never echoes the number."""

    code = "card_invalid"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class ProcessorError(DatawardError):
    """The card processor is down, slow or answered something we cannot use."""

    exit_code = 69  # EX_UNAVAILABLE
    http_status = 502
    code = "processor_error"


class IdempotencyConflictError(ProcessorError):
    """The processor already saw this idempotency key with a different request: the caller's
    mistake (a key is for retrying the SAME operation), not an outage."""

    exit_code = 65  # EX_DATAERR
    http_status = 409
    code = "idempotency_conflict"


class ProcessorUnavailableError(ProcessorError):
    """No card processor is configured for this deployment: the card endpoints cannot work."""

    http_status = 503
    code = "processor_unavailable"


# --- service ------------------------------------------------------------------------------------


class AuthenticationError(DatawardError):
    """No API key, a malformed one, an unknown one or a revoked one. Never echoes the key."""

    exit_code = 77
    http_status = 401
    code = "unauthenticated"


class AccessDeniedError(DatawardError):
    """The caller's role may not call this endpoint (before any policy decision)."""

    exit_code = 77
    http_status = 403
    code = "role_not_allowed"

    def __init__(self, message: str, *, role: str | None = None) -> None:
        super().__init__(message)
        self.role = role


class PayloadTooLargeError(InputError):
    """A request body over the configured size limit. Nothing was read past the limit."""

    http_status = 413
    code = "payload_too_large"


class RateLimitedError(DatawardError):
    """Too many requests for one API key; retry after ``retry_after`` seconds."""

    exit_code = 75  # EX_TEMPFAIL
    http_status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
