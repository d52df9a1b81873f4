"""Decisions of the default policy, table-driven, and the engine's semantics on small policies."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from policy_samples import MINIMAL

from dataward.errors import InputError, PolicyFileError, UnknownCategoryError
from dataward.policy import IsoDuration, Obligation, Policy, Retention, load_policy
from dataward.settings import load_settings
from dataward.taxonomy import Action, DataClass

E, H, M, A = Obligation.ENCRYPT, Obligation.HASH, Obligation.MASK, Obligation.AUDIT


@pytest.mark.parametrize(
    ("action", "category", "role", "purpose", "recipient", "allowed", "rule", "obligations"),
    [
        ("store", "contact.email", "support", "support", None, True, "low-support", {E, A}),
        ("use", "contact.email", "sales", "support", None, False, "builtin:default-deny", set()),
        ("store", "secret.password", "authentication", "authentication", None, True,
         "secret-hashed-only", {H, A}),
        ("store", "secret.api_key", "authentication", "authentication", None, True,
         "high-stored-encrypted", {E, A}),
        ("archive", "secret.api_key", "service", "legal", None, False, "high-never-archived",
         set()),
        ("store", "card.expiry", "billing", "billing", None, True, "card-expiry-display",
         {E, M, A}),
        ("share", "card.token", "service", "billing", "card-processor", True, "card-token-exchange",
         {E, A}),
        ("share", "contact.phone", "billing", "billing", "card-processor", False,
         "builtin:default-deny", set()),
        ("store", "sensitive.health", "dpm", "legal", None, False, "forbidden-never", set()),
        ("use", "contact.email", "nobody", "support", None, False, "builtin:unknown-role", set()),
        ("use", "contact.email", "support", "marketing", None, False, "builtin:unknown-purpose",
         set()),
        ("share", "contact.email", "billing", "billing", "google", False,
         "builtin:unknown-recipient", set()),
    ],
)  # fmt: skip
def test_default_policy_decisions(
    policy: Policy,
    action: str,
    category: str,
    role: str,
    purpose: str,
    recipient: str | None,
    allowed: bool,
    rule: str,
    obligations: set[Obligation],
) -> None:
    d = policy.decide(
        action=action, category=category, role=role, purpose=purpose, recipient=recipient
    )
    assert (d.allowed, d.rule_id, set(d.obligations)) == (allowed, rule, obligations)
    assert d.policy_version == policy.metadata.version
    assert d.reason
    # Action members and plain strings are the same request.
    assert (
        policy.decide(
            action=Action(action),
            category=category,
            role=role,
            purpose=purpose,
            recipient=recipient,
        )
        == d
    )


def test_decision_is_frozen(policy: Policy) -> None:
    d = policy.decide(action="use", category="contact.email", role="support", purpose="support")
    with pytest.raises(AttributeError):
        d.allowed = False  # type: ignore[misc]


def test_unknown_category_raises_with_suggestion(policy: Policy) -> None:
    with pytest.raises(UnknownCategoryError, match=r"contact\.email"):
        policy.decide(action="use", category="contact.emial", role="support", purpose="support")


def test_unknown_action_is_an_input_error(policy: Policy) -> None:
    with pytest.raises(InputError, match="unknown action 'delete'"):
        policy.decide(action="delete", category="contact.email", role="dpm", purpose="legal")


def test_recipient_ignored_outside_share(policy: Policy) -> None:
    base = policy.decide(action="use", category="contact.email", role="support", purpose="support")
    with_rec = policy.decide(
        action="use", category="contact.email", role="support", purpose="support", recipient="x"
    )
    assert with_rec == base


def test_share_without_recipient_is_denied(policy: Policy) -> None:
    d = policy.decide(action="share", category="card.token", role="billing", purpose="billing")
    assert not d.allowed


def test_retention_of_stored_decisions(policy: Policy) -> None:
    d = policy.decide(action="store", category="traffic.ip_address", role="service",
                      purpose="contract")  # fmt: skip
    assert d.retention == Retention(IsoDuration(months=6), IsoDuration(years=1))
    assert policy.retention_for("billing.invoice") == Retention(
        IsoDuration(years=3), IsoDuration(years=7)
    )
    assert policy.retention_for("communication.chat") == Retention(
        IsoDuration(years=2), IsoDuration(years=3)
    )
    secret = policy.retention_for("secret.password")
    assert secret is not None and not secret.archived
    assert policy.retention_for("sensitive.health") is None


def test_explain_lists_rules_and_agrees_with_decide(policy: Policy) -> None:
    req = {"action": "share", "category": "card.pan", "role": "support", "purpose": "support",
           "recipient": "card-processor"}  # fmt: skip
    ex = policy.explain(**req)  # type: ignore[arg-type]
    assert ex.decision == policy.decide(**req)  # type: ignore[arg-type]
    ids = [s.rule_id for s in ex.steps]
    assert ids[:2] == ["card-number-to-processor", "card-number-no-other-use"]
    assert not ex.steps[0].applied and "role 'support'" in ex.steps[0].why
    assert ex.steps[1].applied
    assert any("->" in line for line in ex.lines())


def test_explain_unknown_role(policy: Policy) -> None:
    ex = policy.explain(action="use", category="contact.email", role="x", purpose="support")
    assert [s.rule_id for s in ex.steps] == ["builtin:unknown-role"]


def test_metadata_and_registries(policy: Policy) -> None:
    md = policy.metadata
    assert md.next_review.year == md.effective.year + 1
    assert "Data Protection Manager" in md.owner
    assert set(policy.roles) >= {"service", "support", "billing", "sales", "authentication",
                                 "dpm", "auditor", "admin"}  # fmt: skip
    assert set(policy.purposes) == {"contract", "billing", "support", "security", "legal",
                                    "sales", "authentication", "data_subject_request"}  # fmt: skip
    assert "card-processor" in policy.processors
    assert policy.audit_retention == IsoDuration(years=1)
    assert all(r.cites for r in policy.rules)
    assert md.overdue(date(2100, 1, 1)) and not md.overdue(md.effective)


def test_auditor_and_admin_get_no_personal_data(policy: Policy) -> None:
    for (_, _, role, _, _), d in policy.decision_table().items():
        if role in ("auditor", "admin"):
            assert not d.allowed


def test_category_rule_overrides_class_rule(write_policy) -> None:  # type: ignore[no-untyped-def]
    text = (
        MINIMAL
        + """\
  - id: email-no-support
    category: contact.email
    actions: [use]
    effect: deny
    roles: [support]
    cites: "Coordinates."
"""
    )
    p = load_policy(write_policy(text))
    assert not p.decide(action="use", category="contact.email", role="support",
                        purpose="support").allowed  # fmt: skip
    assert p.decide(action="use", category="contact.phone", role="support",
                    purpose="support").allowed  # fmt: skip


def test_user_categories_roles_purposes(write_policy) -> None:  # type: ignore[no-untyped-def]
    text = MINIMAL.replace(
        "rules:\n",
        """\
roles: {loyalty: Loyalty programme staff.}
purposes: {loyalty: Running the loyalty programme.}
categories:
  acme.loyalty_number: {class: low, description: A loyalty card number.}
rules:
  - id: loyalty
    category: acme.loyalty_number
    actions: [use]
    effect: allow
    roles: [loyalty]
    purposes: [loyalty]
    cites: "Client relation."
""",
    )
    p = load_policy(write_policy(text))
    assert p.taxonomy.class_of("acme.loyalty_number") is DataClass.LOW
    d = p.decide(action="use", category="acme.loyalty_number", role="loyalty", purpose="loyalty")
    assert d.allowed and d.rule_id == "loyalty"


def test_user_forbidden_category_is_always_denied(write_policy) -> None:  # type: ignore[no-untyped-def]
    text = MINIMAL.replace("rules:\n", "categories:\n  acme.gossip: {class: forbidden}\nrules:\n")
    p = load_policy(write_policy(text))
    for action in Action:
        d = p.decide(action=action, category="acme.gossip", role="support", purpose="support")
        assert not d.allowed


def test_load_refuses_card_number_storage(write_policy) -> None:  # type: ignore[no-untyped-def]
    text = (
        MINIMAL
        + """\
  - id: keep-pan
    categories: [card.pan]
    actions: [store]
    effect: allow
    retention: {keep: P1Y}
    cites: "no"
"""
    )
    path = write_policy(text)
    with pytest.raises(PolicyFileError) as info:
        load_policy(path)
    assert info.value.line == 17 and info.value.path == str(path)
    assert f"{path}:17:" in str(info.value)


def test_load_policy_from_settings_home(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    assert load_policy(settings=settings) is load_policy()
    (tmp_path / "policy.yaml").write_text(MINIMAL.replace('"1"', '"user-7"'), encoding="utf-8")
    assert load_policy(settings=settings).metadata.version == "user-7"


def test_missing_file_is_a_policy_file_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match="no such policy file"):
        load_policy(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P1Y", IsoDuration(years=1)),
        ("P6M", IsoDuration(months=6)),
        ("P1Y6M2W3D", IsoDuration(years=1, months=6, days=17)),
        ("PT12H30M", IsoDuration(seconds=45000)),
        ("p30d", IsoDuration(days=30)),
    ],
)
def test_duration_parse(text: str, expected: IsoDuration) -> None:
    assert IsoDuration.parse(text) == expected
    assert IsoDuration.parse(str(expected)) == expected


@pytest.mark.parametrize("bad", ["", "P", "1Y", "P1.5Y", "PT", "P1H", "three years"])
def test_duration_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="ISO-8601"):
        IsoDuration.parse(bad)


def test_duration_after_is_calendar_aware() -> None:
    assert IsoDuration(months=1).after(datetime(2026, 1, 31)) == datetime(2026, 2, 28)
    assert IsoDuration(years=1).after(datetime(2028, 2, 29)) == datetime(2029, 2, 28)
