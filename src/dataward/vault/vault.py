"""The vault: governed, encrypted storage of personal data.

Every operation classifies, asks the policy, applies the obligations and writes the data and
exactly one audit entry in ONE database transaction (the audit log joins the caller's
connection). Values are sealed with AES-256-GCM under the subject's data key (see
:mod:`dataward.vault.crypto`); the data key lives in the key ring, apart from the data, so that
:meth:`Vault.destroy` shreds a subject in every copy of the database. Nothing here ever puts a
value into an error message, a log line or an audit entry.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from dataward.db.engine import read_connection
from dataward.errors import (
    InputError,
    NotFoundError,
)
from dataward.policy.model import Decision
from dataward.settings import Settings
from dataward.taxonomy import Action
from dataward.vault.blind_index import IndexKind
from dataward.vault.core import (
    _CATEGORY_OF_KIND,
    _info,
    _iso,
    _naive,
    _protected,
    _retention_text,
    delete_subject,
    purge_destroyed,
    utcnow,
)
from dataward.vault.model import (
    Actor,
    FieldInfo,
    FieldValue,
    check_field,
    check_id,
    check_name,
)
from dataward.vault.owners import VaultOwners
from dataward.vault.schema import blind_index, shares, subjects
from dataward.vault.writes import VaultWrites

__all__ = ["Vault", "_naive", "delete_subject", "purge_destroyed", "utcnow"]


class Vault(VaultWrites, VaultOwners):
    """Governed storage: explicit dependencies in (engine, policy, key ring with its key store,
    audit log, detector), nothing global. ``engine`` holds the data and the audit log (schema
    ``0002``); the key ring should be another database (``Vault.open`` puts it in
    ``<home>/keys``)."""

    @classmethod
    def open(cls, settings: Settings, environ: Mapping[str, str] | None = None) -> Vault:
        """The vault the settings describe (see :func:`dataward.vault.factory.open_vault`)."""
        from dataward.vault.factory import open_vault

        return open_vault(settings, environ)

    def use(
        self, subject_id: str, fields: Sequence[str] | str, *, purpose: str, actor: Actor
    ) -> dict[str, FieldValue]:
        """Values of ``fields`` as the policy lets ``actor`` see them for ``purpose``; audited.

        High-class values are never returned in clear (``value`` is ``None``); use
        :meth:`verify`. The mask obligation returns masked values.
        """
        names = [fields] if isinstance(fields, str) else list(fields)
        check_id(subject_id, "a subject id")
        check_name(purpose, "a purpose")
        for n in names:
            check_field(n)
        with self.engine.begin() as conn:
            rows, cats, missing_err = self._present_rows(
                conn, subject_id, names, actor=actor, action="use", purpose=purpose
            )
            if missing_err is None:
                decisions = self._read_decisions(rows, actor, purpose)
                denied = next((d for d in decisions if not d.allowed), None)
                self._audit(
                    conn, actor=actor, action="use", subject_id=subject_id, categories=cats,
                    decisions=decisions, purpose=purpose,
                    outcome="denied" if denied else "ok",
                )  # fmt: skip
        if missing_err is not None:
            raise missing_err
        if denied is not None:
            bad = rows[decisions.index(denied)]
            raise self._deny(
                denied, action=Action.USE, category=bad.category, actor=actor, purpose=purpose
            )
        out: dict[str, FieldValue] = {}
        for r, d in zip(rows, decisions, strict=True):
            out[r.field] = self._visible(r, d)
        return out

    def verify(
        self,
        subject_id: str,
        field: str,
        candidate: str,
        *,
        actor: Actor,
        purpose: str = "authentication",
    ) -> bool:
        """True when ``candidate`` matches the stored secret; the secret never leaves. Audited
        (``outcome`` ``ok`` on a match, ``refused`` on a mismatch)."""
        check_id(subject_id, "a subject id")
        check_field(field)
        check_name(purpose, "a purpose")
        if not isinstance(candidate, str):
            raise InputError("the candidate secret must be text")
        with self.engine.begin() as conn:
            rows = self._rows(conn, subject_id, [field])
            if not rows:
                self._audit(
                    conn, actor=actor, action="verify", subject_id=subject_id, purpose=purpose,
                    outcome="error",
                )  # fmt: skip
                raise NotFoundError(f"subject {subject_id!r} has no field {field!r}")
            row = rows[0]
            decisions = self._read_decisions(rows, actor, purpose)
            denied = not decisions[0].allowed
            if not denied:
                stored = self._open(row)
                if row.protection == "hashed":
                    ok = self.hasher.verify(stored, candidate)
                else:
                    ok = hmac.compare_digest(stored.encode("utf-8"), candidate.encode("utf-8"))
            self._audit(
                conn, actor=actor, action="verify", subject_id=subject_id,
                categories=[row.category], decisions=decisions, purpose=purpose,
                outcome="denied" if denied else ("ok" if ok else "refused"),
            )  # fmt: skip
        if denied:
            raise self._deny(
                decisions[0], action=Action.USE, category=row.category, actor=actor, purpose=purpose
            )
        return ok

    def share(
        self,
        subject_id: str,
        fields: Sequence[str] | str,
        *,
        recipient: str,
        purpose: str,
        actor: Actor,
        now: datetime | None = None,
    ) -> dict[str, str]:
        """Hand values to a registered processor (the policy decides); recorded and audited.

        Returns the values in clear for transmission; high-class values are never shared.
        """
        names = [fields] if isinstance(fields, str) else list(fields)
        check_id(subject_id, "a subject id")
        check_id(recipient, "a recipient")
        check_name(purpose, "a purpose")
        for n in names:
            check_field(n)
        when = _naive(now)
        with self.engine.begin() as conn:
            rows, cats, missing_err = self._present_rows(
                conn, subject_id, names, actor=actor, action="share", purpose=purpose,
                recipient=recipient,
            )  # fmt: skip
            if missing_err is None:
                decisions = self._read_decisions(rows, actor, purpose, Action.SHARE, recipient)
                for i, (r, d) in enumerate(zip(rows, decisions, strict=True)):
                    if d.allowed and _protected(r):
                        decisions[i] = Decision(
                            False, "builtin:high-never-shared",
                            "high-class secrets are never shared", policy_version=d.policy_version,
                        )  # fmt: skip
                denied = next((d for d in decisions if not d.allowed), None)
                out: dict[str, str] = {}
                if denied is None:
                    for r in rows:
                        out[r.field] = self._open(r)
                        conn.execute(
                            shares.insert().values(
                                subject_id=subject_id, field=r.field, category=r.category,
                                recipient=recipient, purpose=purpose, shared_at=when,
                            )
                        )  # fmt: skip
                self._audit(
                    conn, actor=actor, action="share", subject_id=subject_id, categories=cats,
                    decisions=decisions, purpose=purpose, recipient=recipient,
                    outcome="denied" if denied else "ok",
                )  # fmt: skip
        if missing_err is not None:
            raise missing_err
        if denied is not None:
            bad = rows[decisions.index(denied)]
            raise self._deny(
                denied, action=Action.SHARE, category=bad.category, actor=actor, purpose=purpose
            )
        return out

    # ------------------------------------------------------------------ lifecycle actions ----

    def _present_rows(
        self,
        conn: Connection,
        subject_id: str,
        names: Sequence[str],
        *,
        actor: Actor,
        action: str,
        purpose: str,
        recipient: str | None = None,
    ) -> tuple[list[Any], list[str], NotFoundError | None]:
        """The rows of ``names``, their categories, and the error to raise once the
        transaction commits if any field is missing (that failure is audited here)."""
        rows = self._rows(conn, subject_id, names)
        cats = [r.category for r in rows]
        missing = sorted(set(names) - {r.field for r in rows})
        if not missing:
            return rows, cats, None
        self._audit(
            conn, actor=actor, action=action, subject_id=subject_id, categories=cats,
            purpose=purpose, recipient=recipient, outcome="error",
        )  # fmt: skip
        return (
            rows,
            cats,
            NotFoundError(
                f"subject {subject_id!r} has no field(s) {', '.join(map(repr, missing))}"
            ),
        )

    def erase_at_issuer(
        self,
        subject_id: str,
        field: str,
        *,
        recipient: str,
        delete: Callable[[str], None],
        purpose: str,
        actor: Actor,
    ) -> tuple[str, ...]:
        """Destroy ``subject_id`` whose ``field`` holds a value issued by ``recipient`` (a card
        token from its processor), at the issuer first: the policy must let ``actor`` destroy
        every category the subject holds for ``purpose``; then the value is opened and handed
        to ``delete`` (which asks the issuer to delete it: sending it back to the party that
        issued it discloses nothing), then the subject is crypto-shredded here
        (:meth:`destroy`, audited ``destroy ok``). The value never reaches the caller.

        If ``delete`` raises, nothing is destroyed here, the attempt is audited (``destroy``,
        outcome ``error``, the recipient) and the exception propagates: retry later. Returns
        the categories destroyed."""
        check_id(subject_id, "a subject id")
        check_field(field)
        check_id(recipient, "a recipient")
        check_name(purpose, "a purpose")
        with read_connection(self.engine) as conn:
            rows = self._rows(conn, subject_id, None)
        row = next((r for r in rows if r.field == field), None)
        cats = sorted({r.category for r in rows})
        if row is None:
            self._audit_alone(
                actor=actor, action="destroy", subject_id=subject_id, categories=cats,
                purpose=purpose, recipient=recipient, outcome="error",
            )  # fmt: skip
            raise NotFoundError(f"subject {subject_id!r} has no field {field!r}")
        decisions = [self._decide(Action.DESTROY, c, actor, purpose) for c in cats]
        denied = next((d for d in decisions if not d.allowed), None)
        if denied is None and _protected(row):
            denied = Decision(
                False, "builtin:high-never-released", "high-class secrets never leave the vault",
                policy_version=decisions[0].policy_version,
            )  # fmt: skip
        if denied is not None:
            self._audit_alone(
                actor=actor, action="destroy", subject_id=subject_id, categories=cats,
                decisions=[denied], purpose=purpose, recipient=recipient, outcome="denied",
            )  # fmt: skip
            bad = cats[decisions.index(denied)] if denied in decisions else row.category
            raise self._deny(
                denied, action=Action.DESTROY, category=bad, actor=actor, purpose=purpose
            )
        try:
            delete(self._open(row))
        except BaseException:
            self._audit_alone(
                actor=actor, action="destroy", subject_id=subject_id, categories=cats,
                decisions=decisions, purpose=purpose, recipient=recipient, outcome="error",
            )  # fmt: skip
            raise
        return self.destroy(subject_id, actor=actor, purpose=purpose)

    def export_subject(
        self,
        subject_id: str,
        *,
        actor: Actor,
        purpose: str = "data_subject_request",
        withhold: Collection[str] = (),
    ) -> dict[str, Any]:
        """Everything about one subject: values (as the policy lets ``actor`` see them),
        categories, classes, purposes, recipients, retention. Audited as ``export``.

        Values of the categories in ``withhold`` are listed as protected, like high-class and
        hashed ones: without their value, no use decision, nothing decrypted."""
        check_id(subject_id, "a subject id")
        check_name(purpose, "a purpose")
        with self.engine.begin() as conn:
            subject = conn.execute(
                select(subjects).where(subjects.c.subject_id == subject_id)
            ).first()
            rows = self._rows(conn, subject_id, None)
            cats = [r.category for r in rows]
            if subject is None:
                self._audit(
                    conn, actor=actor, action="export", subject_id=subject_id, purpose=purpose,
                    outcome="error",
                )  # fmt: skip
                raise NotFoundError(f"subject {subject_id!r} is not in the vault")
            # Protected (high-class, hashed) values are listed without their value: no use.
            held = [_protected(r) or r.category in withhold for r in rows]
            decisions = [
                self._decide(Action.USE, r.category, actor, purpose)
                for r, h in zip(rows, held, strict=True)
                if not h
            ]
            denied = next((d for d in decisions if not d.allowed), None)
            share_rows = conn.execute(
                select(shares).where(shares.c.subject_id == subject_id).order_by(shares.c.id)
            ).all()
            self._audit(
                conn, actor=actor, action="export", subject_id=subject_id, categories=cats,
                decisions=decisions, purpose=purpose, outcome="denied" if denied else "ok",
            )  # fmt: skip
        if denied is not None:
            bad = [r for r, h in zip(rows, held, strict=True) if not h][decisions.index(denied)]
            raise self._deny(
                denied, action=Action.USE, category=bad.category, actor=actor, purpose=purpose
            )
        out_fields = []
        open_decisions = iter(decisions)
        for r, h in zip(rows, held, strict=True):
            shown = self._visible(r, None if h else next(open_decisions))
            out_fields.append(
                {
                    "field": r.field,
                    "category": r.category,
                    "class": r.data_class,
                    "value": shown.value,
                    "masked": shown.masked,
                    "protected": shown.protected,
                    "purpose": r.purpose,
                    "state": r.state,
                    "version": r.version,
                    "stored_at": _iso(r.stored_at),
                    "archive_due": _iso(r.archive_due),
                    "destroy_due": _iso(r.destroy_due),
                    "retention": _retention_text(self._retention(r.category)),
                    "policy_version": r.policy_version,
                }
            )
        return {
            "subject_id": subject_id,
            "created_at": _iso(subject.created_at),
            "fields": out_fields,
            "categories": sorted(set(cats)),
            "purposes": sorted({r.purpose for r in rows}),
            "recipients": [
                {
                    "recipient": s.recipient,
                    "field": s.field,
                    "category": s.category,
                    "purpose": s.purpose,
                    "shared_at": _iso(s.shared_at),
                }
                for s in share_rows
            ],
        }

    def find_subjects(
        self,
        *,
        email: str | None = None,
        customer_id: str | None = None,
        phone: str | None = None,
        actor: Actor,
        purpose: str = "data_subject_request",
    ) -> list[str]:
        """Subjects whose indexed e-mail / customer id / phone matches (blind index: no
        plaintext stored, nothing decrypted). Exactly one criterion. Audited as ``access``."""
        given = [
            (k, v)
            for k, v in (
                (IndexKind.EMAIL, email),
                (IndexKind.CUSTOMER_ID, customer_id),
                (IndexKind.PHONE, phone),
            )
            if v is not None
        ]
        if len(given) != 1:
            raise InputError("find_subjects takes exactly one of email=, customer_id=, phone=")
        check_name(purpose, "a purpose")
        kind, value = given[0]
        category = _CATEGORY_OF_KIND[kind]
        try:
            token = self.indexer.token(kind, value)
        except InputError:
            raise InputError(f"the {kind.value} to search for is malformed") from None
        decision = self._decide(Action.USE, category, actor, purpose)
        with self.engine.begin() as conn:
            found: list[str] = []
            if decision.allowed:
                found = [
                    r.subject_id
                    for r in conn.execute(
                        select(blind_index.c.subject_id)
                        .where(blind_index.c.kind == kind.value, blind_index.c.token == token)
                        .distinct()
                        .order_by(blind_index.c.subject_id)
                    )
                ]
            self._audit(
                conn, actor=actor, action="access", subject_id=None, categories=[category],
                decisions=[decision], purpose=purpose,
                outcome="ok" if decision.allowed else "denied",
            )  # fmt: skip
        if not decision.allowed:
            raise self._deny(
                decision, action=Action.USE, category=category, actor=actor, purpose=purpose
            )
        return found

    # ------------------------------------------------------------------ keys -----------------

    def fields_of(self, subject_id: str) -> list[FieldInfo]:
        """What is held about a subject, without values and without an audit entry (used by
        the lifecycle and by tests; no personal value leaves)."""
        with read_connection(self.engine) as conn:
            rows = self._rows(conn, subject_id, None)
        return [_info(r) for r in rows]

    def list_fields(self, subject_id: str, *, purpose: str, actor: Actor) -> list[FieldInfo]:
        """What is held about a subject, without values, for a declared purpose of the policy;
        audited as ``access`` (who looked, and why). Raises NotFoundError for an unknown one."""
        check_id(subject_id, "a subject id")
        check_name(purpose, "a purpose")
        if purpose not in self.policy.purposes:
            raise InputError(f"purpose {purpose!r} is not a purpose of the policy")
        infos = self.fields_of(subject_id)
        self._audit_alone(
            actor=actor, action="access", subject_id=subject_id,
            categories=[i.category for i in infos], purpose=purpose,
            outcome="ok" if infos else "error",
        )  # fmt: skip
        if not infos:
            raise NotFoundError(f"subject {subject_id!r} is not in the vault")
        return infos
