"""API keys of the HTTP service: created once, stored as a hash, verified, cached, revoked.

A key reads ``dw_<id>_<secret>``: ``id`` is 12 lowercase hex digits (public: it names the key
in listings and is the actor in the audit log), ``secret`` comes from
``secrets.token_urlsafe(32)``. Only the SHA-256 of the secret is stored (a 256-bit random
secret needs no slow hash), compared in constant time. The full key is returned once, by
:meth:`ApiKeyStore.create`, and never again.

Each process trusts a verified key for ``cache_seconds`` (so a busy service does not read the
table per request); :meth:`ApiKeyStore.revoke` drops the key from this process's cache at once,
other processes notice within ``cache_seconds``. No error message ever holds a key or a secret.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from sqlalchemy import Connection, Engine, Row, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from dataward.db.api_keys import api_keys as T  # noqa: N812 - short table alias, SQLAlchemy idiom
from dataward.db.engine import read_connection
from dataward.errors import AuthenticationError, InputError, NotFoundError, StorageError
from dataward.vault import Actor

__all__ = [
    "KEY_ID_PATTERN",
    "KEY_PREFIX",
    "ApiKey",
    "ApiKeyStore",
    "AuditAppender",
    "parse_key",
]

KEY_PREFIX: Final = "dw_"
#: A key id: 12 lowercase hex digits.
KEY_ID_PATTERN: Final = r"^[0-9a-f]{12}$"
_ID = re.compile(KEY_ID_PATTERN)
_KEY = re.compile(r"dw_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
_ROLE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_NAME = re.compile(r"[A-Za-z0-9 _.:-]{0,100}")
_DIGIT_RUN = re.compile(r"[0-9]{5}")
_SYSTEM: Final = Actor("system", "admin")
_MAX_CACHED: Final = 10_000
_BAD_KEY: Final = "invalid API key: send a key made by `dataward keys create --role ROLE`"


class AuditAppender(Protocol):
    """What the store needs from the audit log: append inside the caller's transaction."""

    def append(self, entry_fields: Mapping[str, Any], *, conn: Connection | None = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key's record (never its secret). Times are aware UTC datetimes."""

    id: str
    role: str
    name: str
    created_at: datetime
    revoked_at: datetime | None
    created_by: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def parse_key(token: str) -> tuple[str, str]:
    """``(key id, secret)`` of a well-formed key, else :class:`AuthenticationError`."""
    m = _KEY.fullmatch(token) if isinstance(token, str) else None
    if m is None:
        raise AuthenticationError(_BAD_KEY)
    return m.group(1), m.group(2)


def _new_id() -> str:
    """12 random lowercase hex digits with no run of 5 decimal digits: the id is the actor of
    every audit entry its key causes, and a long digit run could read as a phone number to the
    audit log's scrubber (which would refuse the entry)."""
    while True:
        key_id = secrets.token_hex(6)
        if not _DIGIT_RUN.search(key_id):
            return key_id


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _aware(when: datetime | None) -> datetime | None:
    return None if when is None else when.replace(tzinfo=UTC)


def _key_of(row: Row[Any]) -> ApiKey:
    return ApiKey(
        id=row.id,
        role=row.role,
        name=row.name,
        created_at=row.created_at.replace(tzinfo=UTC),
        revoked_at=_aware(row.revoked_at),
        created_by=row.created_by,
    )


def _storage_error(exc: SQLAlchemyError) -> StorageError:
    return StorageError(
        f"cannot read or write the API keys ({type(exc).__name__}); is the database reachable "
        "and migrated (`dataward db upgrade`)?"
    )


class ApiKeyStore:
    """The API keys in ``engine``'s ``api_keys`` table; ``roles`` are the policy's roles."""

    def __init__(
        self,
        engine: Engine,
        *,
        roles: Collection[str],
        audit: AuditAppender | None = None,
        cache_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.roles = frozenset(roles)
        self.audit = audit
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._lock = threading.Lock()
        # key id -> (secret hash, key, monotonic expiry)
        self._cache: dict[str, tuple[str, ApiKey, float]] = {}

    # --- administration -----------------------------------------------------------------------

    def create(
        self, role: str, *, name: str = "", actor: Actor | None = None
    ) -> tuple[ApiKey, str]:
        """A new key for ``role``: its record and the full key (``dw_<id>_<secret>``), which is
        shown this once and never stored. Audited as ``key_create``."""
        self._check_role(role)
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InputError("invalid key name: use up to 100 letters, digits, spaces and _ . : -")
        who = actor or _SYSTEM
        created_by = actor.id if actor is not None else None
        for _ in range(5):  # 48-bit ids: a collision is rare; retry with another id
            key_id, secret = _new_id(), secrets.token_urlsafe(32)
            created_at = _now()
            row = {
                "id": key_id,
                "role": role,
                "name": name,
                "secret_hash": _hash(secret),
                "created_at": created_at,
                "revoked_at": None,
                "created_by": created_by,
            }
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(T), row)
                    self._audit(conn, who, "key_create", key_id)
            except IntegrityError:
                continue
            except SQLAlchemyError as exc:
                raise _storage_error(exc) from None
            key = ApiKey(
                id=key_id,
                role=role,
                name=name,
                created_at=created_at.replace(tzinfo=UTC),
                revoked_at=None,
                created_by=created_by,
            )
            return key, f"{KEY_PREFIX}{key_id}_{secret}"
        raise StorageError("could not allocate a unique API key id; try again")

    def list(self, *, include_revoked: bool = True) -> builtins.list[ApiKey]:
        """Every key (or only the active ones), oldest first. Never a secret."""
        stmt = select(T).order_by(T.c.created_at, T.c.id)
        if not include_revoked:
            stmt = stmt.where(T.c.revoked_at.is_(None))
        try:
            with read_connection(self.engine) as conn:
                return [_key_of(r) for r in conn.execute(stmt)]
        except SQLAlchemyError as exc:
            raise _storage_error(exc) from None

    def get(self, key_id: str) -> ApiKey:
        """The key with this id, else :class:`NotFoundError`."""
        row = self._row(key_id) if isinstance(key_id, str) and _ID.fullmatch(key_id) else None
        if row is None:
            raise self._not_found(key_id)
        return _key_of(row)

    def revoke(self, key_id: str, *, actor: Actor | None = None) -> ApiKey:
        """Revoke a key (idempotent): it stops authenticating at once in this process and
        within ``cache_seconds`` in the others. Audited as ``key_revoke``."""
        if not (isinstance(key_id, str) and _ID.fullmatch(key_id)):
            raise self._not_found(key_id)
        try:
            with self.engine.begin() as conn:
                row = conn.execute(select(T).where(T.c.id == key_id)).one_or_none()
                if row is None:
                    raise self._not_found(key_id)
                if row.revoked_at is None:
                    when = _now()
                    conn.execute(update(T).where(T.c.id == key_id).values(revoked_at=when))
                    self._audit(conn, actor or _SYSTEM, "key_revoke", key_id)
                    row = conn.execute(select(T).where(T.c.id == key_id)).one()
        except SQLAlchemyError as exc:
            raise _storage_error(exc) from None
        finally:
            with self._lock:
                self._cache.pop(key_id, None)
        return _key_of(row)

    # --- authentication -----------------------------------------------------------------------

    def authenticate(self, token: str) -> ApiKey:
        """The active key ``token`` stands for, else :class:`AuthenticationError`."""
        key_id, secret = parse_key(token)
        digest = _hash(secret)
        now = self._clock()
        with self._lock:
            cached = self._cache.get(key_id)
        if cached is not None and cached[2] > now:
            if hmac.compare_digest(digest, cached[0]):
                return cached[1]
            raise AuthenticationError(_BAD_KEY)
        row = self._row(key_id)
        if row is None or not hmac.compare_digest(digest, row.secret_hash):
            raise AuthenticationError(_BAD_KEY)
        key = _key_of(row)
        if not key.active:
            with self._lock:
                self._cache.pop(key_id, None)
            raise AuthenticationError(
                "this API key was revoked: ask an administrator for a new one"
            )
        if self.cache_seconds > 0:
            with self._lock:
                if len(self._cache) >= _MAX_CACHED:
                    self._cache = {k: v for k, v in self._cache.items() if v[2] > now}
                    if len(self._cache) >= _MAX_CACHED:
                        self._cache.clear()
                self._cache[key_id] = (row.secret_hash, key, now + self.cache_seconds)
        return key

    # --- helpers ------------------------------------------------------------------------------

    def _check_role(self, role: str) -> None:
        if isinstance(role, str) and role in self.roles:
            return
        shown = repr(role) if isinstance(role, str) and _ROLE.fullmatch(role) else "given"
        raise InputError(
            f"the role {shown} is not a role of the policy; roles allowed: "
            f"{', '.join(sorted(self.roles))}"
        )

    def _row(self, key_id: str) -> Row[Any] | None:
        try:
            with read_connection(self.engine) as conn:
                return conn.execute(select(T).where(T.c.id == key_id)).one_or_none()
        except SQLAlchemyError as exc:
            raise _storage_error(exc) from None

    def _audit(self, conn: Connection, actor: Actor, action: str, key_id: str) -> None:
        if self.audit is None:
            return
        self.audit.append(
            {
                "actor_id": actor.id,
                "actor_role": actor.role,
                "action": action,
                "subject_ref": key_id,
                "outcome": "ok",
            },
            conn=conn,
        )

    @staticmethod
    def _not_found(key_id: object) -> NotFoundError:
        if isinstance(key_id, str) and _ID.fullmatch(key_id):
            return NotFoundError(f"no API key with id {key_id!r}")
        return NotFoundError("no API key with that id: key ids are 12 lowercase hex digits")
