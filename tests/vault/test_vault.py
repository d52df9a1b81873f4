"""The vault end to end, on SQLite and PostgreSQL: policy, obligations, audit, blind index."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update

from dataward.detect import Detector
from dataward.detect.model import Finding
from dataward.errors import (
    CardDataError,
    ForbiddenDataError,
    InputError,
    NotFoundError,
    PolicyDeniedError,
    ProcessorError,
)
from dataward.taxonomy import Action, DataClass
from dataward.vault import Actor, CiphertextError, Vault
from dataward.vault.schema import blind_index, shares, subjects, values

from .conftest import (
    AUTH,
    BILLING,
    DPM,
    SALES,
    SERVICE,
    SUPPORT,
    audit_count,
    last_audit,
)


def count(vault: Vault, table: object) -> int:
    with vault.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_store_and_use_round_trip_with_one_audit_entry_each(vault: Vault) -> None:
    n0 = audit_count(vault)
    info = vault.store(
        "cust-1", "email", "alice@example.com", category="contact.email",
        purpose="contract", actor=SERVICE,
    )  # fmt: skip
    assert (info.category, info.protection, info.version) == ("contact.email", "encrypted", 1)
    assert info.archive_due is not None and info.destroy_due is not None
    assert audit_count(vault) == n0 + 1
    entry = last_audit(vault)
    assert (entry["action"], entry["allowed"], entry["subject_ref"]) == ("store", True, "cust-1")
    assert "alice" not in repr(entry)
    got = vault.use("cust-1", ["email"], purpose="support", actor=SUPPORT)
    assert got["email"].value == "alice@example.com"
    assert audit_count(vault) == n0 + 2
    assert last_audit(vault)["action"] == "use"
    assert vault.audit.verify().ok  # type: ignore[attr-defined]


def test_category_is_detected_when_not_given(vault: Vault) -> None:
    info = vault.store("cust-2", "contact", "bob@example.org", purpose="contract", actor=SERVICE)
    assert info.category == "contact.email"


def test_undetectable_value_without_category_is_refused(vault: Vault) -> None:
    with pytest.raises(InputError, match="no category given"):
        vault.store("cust-2", "x", "zzz", purpose="contract", actor=SERVICE)


@pytest.mark.parametrize("category", ["sensitive.health", "sensitive.religious_belief"])
def test_declared_forbidden_category_is_refused_and_audited(vault: Vault, category: str) -> None:
    n0 = audit_count(vault)
    with pytest.raises(ForbiddenDataError) as info:
        vault.store(
            "cust-3", "note", "value-xyz-123", category=category, purpose="support", actor=SUPPORT
        )
    assert category in str(info.value) and "value-xyz-123" not in str(info.value)
    assert count(vault, values) == 0 and count(vault, subjects) == 0
    assert audit_count(vault) == n0 + 1
    entry = last_audit(vault)
    assert entry["allowed"] is False and entry["outcome"] == "refused"
    assert category in str(entry["categories"])


@pytest.mark.parametrize(
    ("category", "value"),
    [
        ("card.pan", "4111 1111 1111 1111"),
        ("card.cvv", "123"),
        ("communication.support_message", "please charge my card 4111 1111 1111 1111 today"),
    ],
)
def test_card_data_is_refused_anywhere(vault: Vault, category: str, value: str) -> None:
    n0 = audit_count(vault)
    with pytest.raises(CardDataError) as info:
        vault.store("cust-4", "note", value, category=category, purpose="support", actor=SUPPORT)
    assert "4111" not in str(info.value) and "card intake" in str(info.value)
    assert count(vault, values) == 0
    assert audit_count(vault) == n0 + 1
    assert last_audit(vault)["outcome"] == "refused"


def test_policy_denial_writes_nothing_but_the_audit_entry(vault: Vault) -> None:
    n0 = audit_count(vault)
    with pytest.raises(PolicyDeniedError) as info:
        vault.store(
            "cust-5", "pw", "hunter2-secret", category="secret.password", purpose="sales",
            actor=SALES,
        )  # fmt: skip
    assert info.value.rule_id
    assert "hunter2" not in str(info.value)
    assert count(vault, values) == 0
    assert audit_count(vault) == n0 + 1
    assert last_audit(vault)["allowed"] is False


def test_passwords_are_argon2id_and_only_verified(vault: Vault) -> None:
    info = vault.store(
        "cust-6", "password", "correct horse battery", category="secret.password",
        purpose="authentication", actor=AUTH,
    )  # fmt: skip
    assert info.protection == "hashed"
    shown = vault.use("cust-6", ["password"], purpose="authentication", actor=AUTH)["password"]
    assert shown.value is None and shown.protected
    assert vault.verify("cust-6", "password", "correct horse battery", actor=AUTH)
    assert not vault.verify("cust-6", "password", "wrong", actor=AUTH)
    assert last_audit(vault)["outcome"] == "refused"
    with pytest.raises(PolicyDeniedError):
        vault.verify("cust-6", "password", "correct horse battery", actor=SUPPORT)


def test_high_class_secret_is_never_returned_nor_shared(vault: Vault) -> None:
    vault.store(
        "cust-7", "api_key", "ak_live_0123456789abcdef", category="secret.api_key",
        purpose="authentication", actor=AUTH,
    )  # fmt: skip
    shown = vault.use("cust-7", "api_key", purpose="authentication", actor=AUTH)["api_key"]
    assert shown.value is None
    assert vault.verify("cust-7", "api_key", "ak_live_0123456789abcdef", actor=AUTH)
    with pytest.raises(PolicyDeniedError):
        vault.share(
            "cust-7", ["api_key"], recipient="card-processor", purpose="billing", actor=BILLING
        )


def test_mask_obligation_is_applied(vault: Vault) -> None:
    vault.store(
        "cust-8", "expiry", "12/29", category="card.expiry", purpose="billing", actor=BILLING
    )
    shown = vault.use("cust-8", ["expiry"], purpose="support", actor=SUPPORT)["expiry"]
    assert shown.masked and shown.value is not None and "12/29" not in shown.value


def test_use_for_a_purpose_the_policy_denies(vault: Vault) -> None:
    vault.store(
        "cust-9", "email", "carol@example.com", category="contact.email", purpose="contract",
        actor=SERVICE,
    )  # fmt: skip
    n0 = audit_count(vault)
    with pytest.raises(PolicyDeniedError, match=r"contact\.email"):
        vault.use("cust-9", ["email"], purpose="sales", actor=SUPPORT)
    assert audit_count(vault) == n0 + 1
    assert last_audit(vault)["outcome"] == "denied"


def test_share_only_with_registered_processors(vault: Vault) -> None:
    vault.store(
        "cust-10", "email", "dave@example.com", category="contact.email", purpose="billing",
        actor=BILLING,
    )  # fmt: skip
    out = vault.share(
        "cust-10", ["email"], recipient="card-processor", purpose="billing", actor=BILLING
    )
    assert out == {"email": "dave@example.com"}
    assert count(vault, shares) == 1
    with pytest.raises(PolicyDeniedError, match="processor"):
        vault.share("cust-10", ["email"], recipient="ads-inc", purpose="billing", actor=BILLING)
    assert count(vault, shares) == 1
    export = vault.export_subject("cust-10", actor=DPM)
    assert export["recipients"][0]["recipient"] == "card-processor"


def test_find_subjects_by_blind_index(vault: Vault) -> None:
    for sid, email in [("c-a", "Erin@Example.com"), ("c-b", "frank@example.com")]:
        vault.store(
            sid, "email", email, category="contact.email", purpose="contract", actor=SERVICE
        )
    vault.store("c-a", "phone", "+41 44 668 18 00", category="contact.phone", purpose="contract",
                actor=SERVICE)  # fmt: skip
    vault.store("c-b", "cid", "cu-77", category="identity.customer_id", purpose="contract",
                actor=SERVICE)  # fmt: skip
    assert vault.find_subjects(email="  erin@EXAMPLE.com", actor=DPM) == ["c-a"]
    assert vault.find_subjects(phone="044 668 18 00", actor=DPM) == ["c-a"]
    assert vault.find_subjects(customer_id="CU-77", actor=DPM) == ["c-b"]
    assert vault.find_subjects(email="nobody@example.com", actor=DPM) == []
    with pytest.raises(InputError):
        vault.find_subjects(actor=DPM)
    with vault.engine.connect() as conn:
        tokens = [bytes(r.token) for r in conn.execute(select(blind_index.c.token))]
    assert all(b"example" not in t for t in tokens)


def test_rectify_makes_a_new_version_and_reindexes(vault: Vault) -> None:
    vault.store("c-r", "email", "old@example.com", category="contact.email", purpose="contract",
                actor=SERVICE)  # fmt: skip
    info = vault.rectify("c-r", "email", "new@example.com", actor=DPM)
    assert info.version == 2 and info.category == "contact.email"
    assert vault.use("c-r", "email", purpose="support", actor=SUPPORT)["email"].value == (
        "new@example.com"
    )
    assert vault.find_subjects(email="old@example.com", actor=DPM) == []
    assert vault.find_subjects(email="new@example.com", actor=DPM) == ["c-r"]
    with pytest.raises(NotFoundError):
        vault.rectify("c-r", "nothere", "x@example.com", actor=DPM)


def test_ciphertext_copied_into_another_row_fails(vault: Vault) -> None:
    for f, v in [("email", "gina@example.com"), ("email2", "hank@example.com")]:
        vault.store("c-x", f, v, category="contact.email", purpose="contract", actor=SERVICE)
    with vault.engine.begin() as conn:
        src = conn.execute(
            select(values.c.nonce, values.c.ciphertext).where(values.c.field == "email")
        ).one()
        conn.execute(
            update(values)
            .where(values.c.field == "email2")
            .values(nonce=src.nonce, ciphertext=src.ciphertext)
        )
    with pytest.raises(CiphertextError) as info:
        vault.use("c-x", ["email2"], purpose="support", actor=SUPPORT)
    assert "gina" not in str(info.value)


def test_archive_restricts_use(vault: Vault) -> None:
    vault.store("c-ar", "name", "Ivy Smith", category="person.name", purpose="contract",
                actor=SERVICE)  # fmt: skip
    assert vault.archive("c-ar", actor=SERVICE) == 1
    with pytest.raises(PolicyDeniedError, match="archived"):
        vault.use("c-ar", "name", purpose="support", actor=SUPPORT)
    got = vault.use("c-ar", "name", purpose="data_subject_request", actor=DPM)["name"]
    assert got.value == "Ivy Smith" and got.state == "archived"


def test_export_subject_lists_everything(vault: Vault) -> None:
    vault.store("c-e", "email", "jo@example.com", category="contact.email", purpose="contract",
                actor=SERVICE)  # fmt: skip
    vault.store("c-e", "password", "pw-123456", category="secret.password",
                purpose="authentication", actor=AUTH)  # fmt: skip
    doc = vault.export_subject("c-e", actor=DPM)
    by_field = {f["field"]: f for f in doc["fields"]}
    assert by_field["email"]["value"] == "jo@example.com"
    assert by_field["email"]["retention"] and by_field["email"]["destroy_due"]
    assert by_field["password"]["value"] is None and by_field["password"]["protected"]
    assert doc["categories"] == ["contact.email", "secret.password"]
    assert doc["purposes"] == ["authentication", "contract"]
    assert last_audit(vault)["action"] == "export"


def test_destroy_shreds_everything_and_is_audited(vault: Vault) -> None:
    vault.store("c-d", "email", "kim@example.com", category="contact.email", purpose="contract",
                actor=SERVICE)  # fmt: skip
    vault.store("c-keep", "email", "lee@example.com", category="contact.email",
                purpose="contract", actor=SERVICE)  # fmt: skip
    assert vault.destroy("c-d", actor=DPM) == ("contact.email",)
    assert last_audit(vault)["action"] == "destroy"
    assert vault.keyring.get("c-d") is None
    assert vault.find_subjects(email="kim@example.com", actor=DPM) == []
    assert [f.field for f in vault.fields_of("c-d")] == []
    assert vault.use("c-keep", "email", purpose="support", actor=SUPPORT)["email"].value
    with pytest.raises(NotFoundError):
        vault.destroy("c-d", actor=DPM)
    with pytest.raises(PolicyDeniedError):
        vault.destroy("c-keep", actor=SUPPORT)


def test_key_rotation_rewraps_without_touching_data(vault: Vault) -> None:
    vault.store("c-k", "email", "mo@example.com", category="contact.email", purpose="contract",
                actor=SERVICE)  # fmt: skip
    with vault.engine.connect() as conn:
        before = conn.execute(select(values.c.ciphertext, values.c.nonce)).all()
    old = vault.keystore.current_kek_id()
    report = vault.rotate_keys(actor=DPM)
    assert report["rewrapped"] == 1 and report["kek_id"] != old
    assert report["keks_in_use"] == [report["kek_id"]]
    with vault.engine.connect() as conn:
        assert conn.execute(select(values.c.ciphertext, values.c.nonce)).all() == before
    vault.keyring.forget("c-k")
    vault.keystore.retire(old)
    assert vault.use("c-k", "email", purpose="support", actor=SUPPORT)["email"].value == (
        "mo@example.com"
    )
    assert last_audit(vault)["action"] == "use"


@pytest.mark.parametrize(
    ("subject", "field"), [("has space", "email"), ("a@b.c", "email"), ("ok", "9bad")]
)
def test_identifiers_that_could_carry_values_are_refused(
    vault: Vault, subject: str, field: str
) -> None:
    with pytest.raises(InputError):
        vault.store(subject, field, "x@example.com", category="contact.email",
                    purpose="contract", actor=SERVICE)  # fmt: skip


def test_store_many_is_one_transaction_with_one_entry_per_value(vault: Vault) -> None:
    n0 = audit_count(vault)
    infos = vault.store_many(
        [
            ("b-1", "email", "b1@example.com", "contact.email"),
            ("b-1", "email", "b1-new@example.com", "contact.email"),
            ("b-2", "name", "Bea Two", "person.name"),
        ],
        purpose="contract",
        actor=SERVICE,
    )
    assert [i.version for i in infos] == [1, 2, 1]
    assert audit_count(vault) == n0 + 3
    assert vault.find_subjects(email="b1-new@example.com", actor=DPM) == ["b-1"]
    assert vault.find_subjects(email="b1@example.com", actor=DPM) == []
    n1 = audit_count(vault)
    with pytest.raises(ForbiddenDataError):
        vault.store_many(
            [
                ("b-3", "email", "b3@example.com", "contact.email"),
                ("b-3", "note", "x", "sensitive.health"),
            ],
            purpose="contract",
            actor=SERVICE,
        )
    assert vault.fields_of("b-3") == []
    assert audit_count(vault) == n1 + 1  # only the refusal


@pytest.mark.parametrize("operation", ["use", "share"])
def test_missing_field_is_audited_once_and_raises(vault: Vault, operation: str) -> None:
    vault.store("c-m", "email", "mia@example.com", category="contact.email", purpose="contract",
                actor=SERVICE)  # fmt: skip
    before = audit_count(vault)
    with pytest.raises(NotFoundError):
        if operation == "use":
            vault.use("c-m", ["email", "nothere"], purpose="support", actor=SUPPORT)
        else:
            vault.share("c-m", ["email", "nothere"], recipient="card-processor",
                        purpose="billing", actor=SERVICE)  # fmt: skip
    assert audit_count(vault) == before + 1
    entry = last_audit(vault)
    assert entry["action"] == operation and entry["outcome"] == "error"


def test_list_fields_is_audited_with_its_purpose_and_never_shows_a_value(vault: Vault) -> None:
    vault.store(
        "c-lf", "email", "lf@example.com", category="contact.email",
        purpose="contract", actor=SERVICE,
    )  # fmt: skip
    n0 = audit_count(vault)
    infos = vault.list_fields("c-lf", purpose="support", actor=SUPPORT)
    assert [(i.field, i.category) for i in infos] == [("email", "contact.email")]
    entry = last_audit(vault)
    assert audit_count(vault) == n0 + 1
    assert (entry["action"], entry["purpose"], entry["outcome"]) == ("access", "support", "ok")
    assert "contact.email" in str(entry["categories"])
    assert "lf@example.com" not in repr(entry) and "lf@example.com" not in repr(infos)


def test_list_fields_refuses_an_unknown_purpose_before_auditing(vault: Vault) -> None:
    n0 = audit_count(vault)
    with pytest.raises(InputError, match="not a purpose of the policy"):
        vault.list_fields("c-lf", purpose="marketing", actor=SUPPORT)
    assert audit_count(vault) == n0


def test_list_fields_of_an_unknown_subject_is_audited_as_an_error(vault: Vault) -> None:
    n0 = audit_count(vault)
    with pytest.raises(NotFoundError):
        vault.list_fields("nobody-here", purpose="support", actor=SUPPORT)
    assert audit_count(vault) == n0 + 1
    assert last_audit(vault)["outcome"] == "error"


# --- erasure reads and owner links -------------------------------------------------------------


def _entries(vault: Vault, subject: str, action: str) -> list[Any]:
    return list(vault.audit.query(subject_ref=subject, action=action))  # type: ignore[attr-defined]


def _card(vault: Vault, sid: str, token: str) -> None:
    vault.store(sid, "token", token, category="card.token", purpose="billing", actor=BILLING)
    vault.store(sid, "display", "visa ****4242 12/2030", category="card.expiry",
                purpose="billing", actor=BILLING)  # fmt: skip


def test_erase_at_issuer_is_gated_by_destroy_and_never_returns_the_value(vault: Vault) -> None:
    _card(vault, "card:a1", "tok-secret-1")
    # The DPM may not share the token, but may have it erased at its issuer.
    with pytest.raises(PolicyDeniedError):
        vault.share("card:a1", "token", recipient="card-processor", purpose="billing", actor=DPM)
    shares_before = count(vault, shares)
    sent: list[str] = []
    got = vault.erase_at_issuer(
        "card:a1", "token", recipient="card-processor", delete=sent.append,
        purpose="data_subject_request", actor=DPM,
    )  # fmt: skip
    assert sent == ["tok-secret-1"]  # handed to the issuer's delete, never returned
    assert got == ("card.expiry", "card.token")
    assert count(vault, shares) == shares_before  # nothing recorded as shared
    assert not vault.fields_of("card:a1")
    done = _entries(vault, "card:a1", "destroy")
    assert len(done) == 1  # only the destroy itself, audited once
    assert (done[0].outcome, done[0].actor_role) == ("ok", "dpm")
    assert "tok-secret" not in repr(done[0].body())
    # Billing's own purpose works too.
    _card(vault, "card:a2", "tok-secret-2")
    vault.erase_at_issuer(
        "card:a2", "token", recipient="card-processor", delete=sent.append,
        purpose="billing", actor=BILLING,
    )  # fmt: skip
    assert sent[-1] == "tok-secret-2"


def test_erase_at_issuer_failures_destroy_nothing_and_are_audited(vault: Vault) -> None:
    _card(vault, "card:b2", "tok-secret-2")
    sent: list[str] = []
    for actor, purpose in ((DPM, "billing"), (SUPPORT, "support"), (BILLING, "support")):
        n0 = audit_count(vault)
        with pytest.raises(PolicyDeniedError) as info:
            vault.erase_at_issuer(
                "card:b2", "token", recipient="card-processor", delete=sent.append,
                purpose=purpose, actor=actor,
            )  # fmt: skip
        assert "tok-secret" not in str(info.value)
        assert audit_count(vault) == n0 + 1
        entry = last_audit(vault)
        assert (entry["action"], entry["outcome"], entry["allowed"]) == ("destroy", "denied", False)
    assert sent == []  # a refusal never reaches the issuer
    with pytest.raises(NotFoundError):
        vault.erase_at_issuer(
            "card:b2", "nope", recipient="card-processor", delete=sent.append,
            purpose="billing", actor=BILLING,
        )  # fmt: skip
    assert last_audit(vault)["outcome"] == "error"

    # The issuer failing: nothing destroyed here, the attempt audited as an error, retry works.
    def down(_value: str) -> None:
        raise ProcessorError("card processor is unreachable")

    with pytest.raises(ProcessorError):
        vault.erase_at_issuer(
            "card:b2", "token", recipient="card-processor", delete=down,
            purpose="billing", actor=BILLING,
        )  # fmt: skip
    assert {f.field for f in vault.fields_of("card:b2")} == {"display", "token"}
    entry = last_audit(vault)
    assert (entry["action"], entry["outcome"]) == ("destroy", "error")
    assert not [e for e in _entries(vault, "card:b2", "destroy") if e.outcome == "ok"]
    vault.erase_at_issuer(
        "card:b2", "token", recipient="card-processor", delete=sent.append,
        purpose="billing", actor=BILLING,
    )  # fmt: skip
    assert sent == ["tok-secret-2"] and not vault.fields_of("card:b2")

    # High-class secrets never leave, even when the destroy itself is allowed (DPM, high).
    vault.store("cust-pw", "api", "k3y-0123456789", category="secret.api_key",
                purpose="authentication", actor=AUTH)  # fmt: skip
    with pytest.raises(PolicyDeniedError, match="high-never-released"):
        vault.erase_at_issuer(
            "cust-pw", "api", recipient="card-processor", delete=sent.append,
            purpose="data_subject_request", actor=DPM,
        )  # fmt: skip
    assert vault.destroy("cust-pw", actor=DPM) == ("secret.api_key",)


def test_owner_links_find_owned_subjects_without_decrypting(vault: Vault) -> None:
    for sid, owner in (("card:c1", "cust-a"), ("card:c2", "cust-a"), ("card:c3", "cust-b")):
        vault.store(sid, "token", f"tok-{sid}", category="card.token", purpose="billing",
                    actor=BILLING)  # fmt: skip
        vault.link_owner(sid, owner, actor=BILLING, purpose="billing")
    vault.link_owner("card:c1", "cust-a", actor=BILLING, purpose="billing")  # idempotent
    vault.store("note:n1", "token", "tok-n1", category="card.token", purpose="billing",
                actor=BILLING)  # fmt: skip
    vault.link_owner("note:n1", "cust-a", actor=BILLING, purpose="billing")
    with vault.engine.connect() as conn:
        rows = conn.execute(select(blind_index.c.token, blind_index.c.subject_id)).all()
    assert all(b"cust-a" not in bytes(r.token) for r in rows)  # the owner is only an HMAC

    def owned(owner: str, actor: Actor = DPM, purpose: str = "data_subject_request",
              prefix: str = "") -> list[str]:  # fmt: skip
        return vault.owned_subjects(
            owner, categories=["card.token"], action=Action.DESTROY, actor=actor,
            purpose=purpose, prefix=prefix,
        )  # fmt: skip

    assert owned("cust-a") == ["card:c1", "card:c2", "note:n1"]
    assert owned("cust-a", prefix="card:") == ["card:c1", "card:c2"]
    assert owned("cust-b") == ["card:c3"]
    assert owned("cust-A") == [] and owned("cust-zzz") == []
    assert last_audit(vault)["action"] == "access"
    # Refused before looking: an owner without links and one with links answer alike.
    for owner in ("cust-a", "cust-zzz"):
        with pytest.raises(PolicyDeniedError):
            owned(owner, actor=SUPPORT, purpose="support")
    # Linking is a write on the subject: support may not, nor link a subject that is not here.
    with pytest.raises(PolicyDeniedError):
        vault.link_owner("card:c3", "cust-a", actor=SUPPORT, purpose="support")
    with pytest.raises(NotFoundError):
        vault.link_owner("card:none", "cust-a", actor=BILLING, purpose="billing")
    with pytest.raises(InputError):
        vault.link_owner("card:c3", "card:c3", actor=BILLING, purpose="billing")
    assert owned("cust-b") == ["card:c3"]
    # The link goes with its subject; other fields and the lifecycle never touch it.
    vault.destroy("card:c1", actor=DPM)
    assert owned("cust-a", prefix="card:") == ["card:c2"]
    vault.store("card:c2", "token", "tok-new", category="card.token", purpose="billing",
                actor=BILLING)  # fmt: skip
    assert owned("cust-a", prefix="card:") == ["card:c2"]


class _StricterDetector(Detector):
    """A detector subclass that finds more than its recognizers (the vault must ask it)."""

    def detect(self, text: str, language: str | None = None) -> list[Finding]:
        found = super().detect(text, language)
        i = text.find("oncology")
        if i >= 0:
            found.append(
                Finding(i, i + 8, "sensitive.health", DataClass.FORBIDDEN, 0.9, "acme.oncology")
            )
        return found


def test_a_detector_subclass_decides_refusals_itself(vault: Vault) -> None:
    strict = Vault(vault.engine, vault.policy, vault.keyring, vault.audit, _StricterDetector())
    with pytest.raises(ForbiddenDataError):
        strict.store("sub-1", "note", "oncology follow-up", category="relation.contract",
                     purpose="contract", actor=SERVICE)  # fmt: skip
    assert strict.fields_of("sub-1") == []
