from __future__ import annotations

import pytest

from dataward import (
    Action,
    Category,
    DataClass,
    PolicyError,
    UnknownCategoryError,
    class_of,
    default_taxonomy,
)

ARCHITECTURE_TABLE = {
    DataClass.LOW: [
        "person.name", "person.title", "person.gender", "person.birth_date", "person.language",
        "contact.email", "contact.phone", "contact.postal_address",
        "identity.customer_id", "identity.username", "identity.national_id", "identity.passport",
        "identity.id_card", "identity.driver_license", "identity.company_id",
        "relation.contract", "relation.subscription", "relation.support_case",
        "relation.account_role",
        "billing.cycle", "billing.medium", "billing.iban", "billing.invoice",
        "billing.crypto_wallet",
    ],
    DataClass.MEDIUM: [
        "traffic.ip_address", "traffic.mac_address", "traffic.url", "traffic.user_agent",
        "traffic.geolocation", "traffic.usage", "logs.access", "logs.event",
        "communication.email", "communication.phone_call", "communication.mail",
        "communication.chat", "communication.support_message",
    ],
    DataClass.HIGH: [
        "secret.password", "secret.password_hash", "secret.api_key", "secret.token",
        "secret.private_key", "secret.otp_seed", "secret.recovery_code",
    ],
    DataClass.SPECIAL: ["card.pan", "card.cvv", "card.expiry", "card.token"],
    DataClass.FORBIDDEN: [
        "sensitive.racial_ethnic_origin", "sensitive.political_opinion",
        "sensitive.religious_belief", "sensitive.trade_union", "sensitive.sex_life",
        "sensitive.health", "sensitive.genetic", "sensitive.biometric", "sensitive.criminal",
        "sensitive.social_assistance",
    ],
}  # fmt: skip

ALL = [(c, dc) for dc, cats in ARCHITECTURE_TABLE.items() for c in cats]


@pytest.mark.parametrize(("category", "data_class"), ALL)
def test_class_of_matches_architecture(category: str, data_class: DataClass) -> None:
    assert class_of(category) is data_class


def test_taxonomy_has_exactly_the_architecture_categories() -> None:
    assert {c.name for c in default_taxonomy()} == {c for c, _ in ALL}


def test_every_category_is_documented() -> None:
    for cat in default_taxonomy():
        assert cat.description.endswith(".")
        assert cat.agreement
        assert cat.shipped


def test_six_actions() -> None:
    assert [a.value for a in default_taxonomy().actions] == [
        "create", "store", "use", "share", "archive", "destroy",
    ]  # fmt: skip
    assert Action("share") is Action.SHARE


@pytest.mark.parametrize(
    ("wrong", "expected"),
    [("contact.emial", "contact.email"), ("emial", "contact.email"), ("card.pam", "card.pan")],
)
def test_unknown_category_suggests(wrong: str, expected: str) -> None:
    with pytest.raises(UnknownCategoryError) as info:
        class_of(wrong)
    assert expected in info.value.suggestions
    assert expected in str(info.value)


def test_user_may_add_a_category() -> None:
    tax = default_taxonomy().extend(
        [Category("acme.loyalty_number", DataClass.LOW, "Loyalty card number.", "acme", "", False)]
    )
    assert tax.class_of("acme.loyalty_number") is DataClass.LOW
    assert "acme.loyalty_number" not in default_taxonomy()


@pytest.mark.parametrize(
    ("name", "new_class"),
    [
        ("sensitive.health", DataClass.LOW),
        ("card.pan", DataClass.HIGH),
        ("card.cvv", DataClass.FORBIDDEN),
        ("secret.password", DataClass.LOW),
    ],
)
def test_user_can_never_reclassify_protected_or_weaken(name: str, new_class: DataClass) -> None:
    with pytest.raises(PolicyError, match=name):
        default_taxonomy().extend([Category(name, new_class, "x.", "g", "", False)])


def test_bad_category_name_refused() -> None:
    with pytest.raises(PolicyError, match="dotted"):
        default_taxonomy().extend([Category("NoDots", DataClass.LOW, "x.", "g", "", False)])
