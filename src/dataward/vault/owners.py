"""Owner links: the vault side of "erasing a customer reaches their cards".

A subject can be *linked* to the subject it belongs to (a card to its customer) by a blind-index
entry (HMAC of the owner's id: the owner is never stored in clear) and listed without decrypting
anything. (:meth:`~dataward.vault.vault.Vault.erase_at_issuer` erases such a subject at the party
that issued its value.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlalchemy import select

from dataward.db.bulk import BulkInsert
from dataward.db.engine import read_connection
from dataward.db.schema import audit_entries
from dataward.errors import InputError, NotFoundError
from dataward.taxonomy import Action
from dataward.vault.blind_index import IndexKind
from dataward.vault.core import VaultCore
from dataward.vault.model import Actor, check_id, check_name
from dataward.vault.schema import blind_index, subjects

__all__ = ["OWNER_FIELD", "VaultOwners"]

#: The ``field`` of an owner link in the blind index: not a valid field name (``check_field``
#: refuses ``@``), so no value row can ever own it, replace it or purge it; the link goes with
#: its subject (``delete_subject``).
OWNER_FIELD: Final = "@owner"
_CHUNK: Final = 500
_INSERT_LINK = BulkInsert(blind_index, ("kind", "token", "subject_id", "field"), skip_existing=True)


class VaultOwners(VaultCore):
    """Owner links (mixed into :class:`~dataward.vault.vault.Vault`)."""

    def link_owner(self, subject_id: str, owner: str, *, actor: Actor, purpose: str) -> None:
        """Record that ``subject_id`` belongs to subject ``owner`` (a card to its customer),
        as a blind-index entry on ``subject_id`` (HMAC of the owner's id: the owner is not
        stored in clear). A write on ``subject_id``: the policy must let ``actor`` store every
        category it holds for ``purpose``. Idempotent; audited as ``store``. The link goes when
        ``subject_id`` is destroyed."""
        check_id(subject_id, "a subject id")
        check_id(owner, "an owner subject id")
        check_name(purpose, "a purpose")
        if owner == subject_id:
            raise InputError("a subject cannot be its own owner")
        token = self.indexer.token(IndexKind.OWNER, owner)
        with self.engine.begin() as conn:
            cats = sorted({r.category for r in self._rows(conn, subject_id, None)})
            if not cats:
                self._audit(
                    conn, actor=actor, action="store", subject_id=subject_id, purpose=purpose,
                    outcome="error",
                )  # fmt: skip
                raise NotFoundError(f"subject {subject_id!r} is not in the vault")
            decisions = [self._decide(Action.STORE, c, actor, purpose) for c in cats]
            denied = next((d for d in decisions if not d.allowed), None)
            if denied is None:
                _INSERT_LINK.run(conn, [(IndexKind.OWNER.value, token, subject_id, OWNER_FIELD)])
            self._audit(
                conn, actor=actor, action="store", subject_id=subject_id, categories=cats,
                decisions=decisions, purpose=purpose, outcome="denied" if denied else "ok",
            )  # fmt: skip
        if denied is not None:
            raise self._deny(
                denied, action=Action.STORE, category=cats[decisions.index(denied)],
                actor=actor, purpose=purpose,
            )  # fmt: skip

    def owned_subjects(
        self,
        owner: str,
        *,
        categories: Sequence[str],
        action: Action = Action.USE,
        actor: Actor,
        purpose: str,
        prefix: str = "",
    ) -> list[str]:
        """Subjects linked to ``owner`` (:meth:`link_owner`) whose id starts with ``prefix``:
        one blind-index probe, nothing decrypted. The policy must let ``actor`` do ``action``
        on every one of ``categories`` (what the caller is after, decided before looking, so a
        refusal never tells whether anything is linked). Audited as ``access``."""
        check_id(owner, "an owner subject id")
        check_name(purpose, "a purpose")
        cats = sorted(set(categories))
        if not cats:
            raise InputError("owned_subjects needs the categories the caller is after")
        token = self.indexer.token(IndexKind.OWNER, owner)
        decisions = [self._decide(Action(action), c, actor, purpose) for c in cats]
        denied = next((d for d in decisions if not d.allowed), None)
        with self.engine.begin() as conn:
            found: list[str] = []
            if denied is None:
                found = [
                    r.subject_id
                    for r in conn.execute(
                        select(blind_index.c.subject_id)
                        .where(
                            blind_index.c.kind == IndexKind.OWNER.value,
                            blind_index.c.token == token,
                        )
                        .distinct()
                        .order_by(blind_index.c.subject_id)
                    )
                    if r.subject_id.startswith(prefix)
                ]
            self._audit(
                conn, actor=actor, action="access", subject_id=owner, categories=cats,
                decisions=decisions, purpose=purpose, outcome="denied" if denied else "ok",
            )  # fmt: skip
        if denied is not None:
            raise self._deny(
                denied, action=Action(action), category=cats[decisions.index(denied)],
                actor=actor, purpose=purpose,
            )  # fmt: skip
        return found

    def owners_of(self, subject_ids: Sequence[str], *, skip_prefix: str = "") -> dict[str, str]:
        """The owners of linked subjects, for a batch job (the retention of cards): the
        links hold only an HMAC of the owner's id, so every id this vault knows (live subjects
        and every subject the audit log names, except those starting with ``skip_prefix``) is
        hashed and matched. A subject whose owner is nowhere to be found is left out. No policy
        decision and no audit entry: what is done with an owner is (e.g.
        :meth:`~dataward.vault.vault.Vault.erase_at_issuer`). Costs one HMAC per known id."""
        if not subject_ids:
            return {}
        wanted = sorted(set(subject_ids))
        with read_connection(self.engine) as conn:
            links: dict[bytes, list[str]] = {}
            for i in range(0, len(wanted), _CHUNK):  # bounded bind parameters per statement
                for r in conn.execute(
                    select(blind_index.c.token, blind_index.c.subject_id).where(
                        blind_index.c.kind == IndexKind.OWNER.value,
                        blind_index.c.subject_id.in_(wanted[i : i + _CHUNK]),
                    )
                ):
                    links.setdefault(bytes(r.token), []).append(r.subject_id)
            if not links:
                return {}
            known = select(subjects.c.subject_id).union(
                select(audit_entries.c.subject_ref).where(audit_entries.c.subject_ref.is_not(None))
            )
            out: dict[str, str] = {}
            for (candidate,) in conn.execute(known):
                if skip_prefix and candidate.startswith(skip_prefix):
                    continue
                try:
                    token = self.indexer.token(IndexKind.OWNER, candidate)
                except InputError:
                    continue
                for owned in links.pop(token, ()):
                    out[owned] = candidate
                if not links:
                    break
        return out
