"""Invariants that no policy can break, checked with Hypothesis."""

from __future__ import annotations

from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from dataward.policy import Policy, load_policy
from dataward.policy.engine import parse_policy
from dataward.taxonomy import Action, DataClass, default_taxonomy

TAX = default_taxonomy()
FORBIDDEN = [c.name for c in TAX.in_class(DataClass.FORBIDDEN)]
ROLES = ["service", "support", "billing", "sales", "authentication", "dpm", "auditor", "admin"]
PURPOSES = ["contract", "billing", "support", "security", "legal", "sales", "authentication",
            "data_subject_request"]  # fmt: skip
names = st.one_of(st.sampled_from(ROLES), st.text(min_size=1, max_size=12))
purposes = st.one_of(st.sampled_from(PURPOSES), st.text(min_size=1, max_size=12))
recipients = st.one_of(st.none(), st.just("card-processor"), st.text(min_size=1, max_size=12))

# A user policy that tries its hardest to allow card storage: the engine must still refuse.
GREEDY = """\
metadata: {version: greedy, effective: 2026-11-01, owner: DPM}
processors:
  card-processor: {purpose: billing, categories: [card.pan, card.cvv], dpa: D, country: CH}
rules:
  - id: everything
    class: special
    actions: [create, use, share, destroy]
    effect: allow
    recipients: [card-processor]
    cites: "x"
"""


@cache
def policies() -> tuple[Policy, ...]:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "greedy.yaml"
        p.write_text(GREEDY, encoding="utf-8")
        return (load_policy(), load_policy(p))


@settings(max_examples=300, deadline=None)
@given(
    action=st.sampled_from(list(Action)),
    category=st.sampled_from(FORBIDDEN),
    role=names,
    purpose=purposes,
    recipient=recipients,
    which=st.integers(0, 1),
)
def test_forbidden_always_denied(
    action: Action, category: str, role: str, purpose: str, recipient: str | None, which: int
) -> None:
    policy = policies()[which]
    d = policy.decide(action=action, category=category, role=role, purpose=purpose,
                      recipient=recipient)  # fmt: skip
    assert not d.allowed
    assert not d.obligations


@settings(max_examples=300, deadline=None)
@given(
    action=st.sampled_from([Action.STORE, Action.ARCHIVE]),
    category=st.sampled_from(["card.pan", "card.cvv"]),
    role=names,
    purpose=purposes,
    recipient=recipients,
    which=st.integers(0, 1),
)
def test_card_numbers_never_stored_or_archived(
    action: Action, category: str, role: str, purpose: str, recipient: str | None, which: int
) -> None:
    d = policies()[which].decide(action=action, category=category, role=role, purpose=purpose,
                                 recipient=recipient)  # fmt: skip
    assert not d.allowed


@settings(max_examples=300, deadline=None)
@given(
    category=st.sampled_from(sorted(TAX.categories)),
    role=names,
    purpose=purposes,
    recipient=st.text(min_size=1, max_size=20).filter(lambda s: s != "card-processor"),
    which=st.integers(0, 1),
)
def test_share_outside_registry_denied(
    category: str, role: str, purpose: str, recipient: str, which: int
) -> None:
    d = policies()[which].decide(action="share", category=category, role=role, purpose=purpose,
                                 recipient=recipient)  # fmt: skip
    assert not d.allowed


def test_greedy_policy_loads_and_shares_only_with_the_processor() -> None:
    greedy = policies()[1]
    assert greedy.decide(action="share", category="card.pan", role="sales", purpose="billing",
                         recipient="card-processor").allowed  # fmt: skip


@cache
def forced(category: str) -> Policy:
    """A policy allowing everything on ``category`` and card data: load refuses it, so it is
    compiled by force here, to show the engine still denies forbidden data and cards at rest."""
    text = GREEDY.replace("class: special", "categories: [card.pan, card.cvv, " + category + "]")
    text = text.replace("[create, use, share, destroy]", "all")
    parts, findings = parse_policy(text, "forced.yaml")
    assert parts is not None and any(f.severity == "error" for f in findings)
    return Policy(parts)


@settings(max_examples=100, deadline=None)
@given(
    action=st.sampled_from(list(Action)),
    category=st.sampled_from([*FORBIDDEN, "card.pan", "card.cvv"]),
    role=st.sampled_from(ROLES),
    purpose=st.sampled_from(PURPOSES),
)
def test_engine_guards_hold_even_if_checks_are_bypassed(
    action: Action, category: str, role: str, purpose: str
) -> None:
    d = forced(category).decide(action=action, category=category, role=role, purpose=purpose,
                                recipient="card-processor")  # fmt: skip
    storing = action in (Action.STORE, Action.ARCHIVE)
    if category in FORBIDDEN or storing:
        assert not d.allowed and d.rule_id.startswith("builtin:")


@settings(max_examples=200, deadline=None)
@given(
    action=st.sampled_from(list(Action)),
    category=st.sampled_from(sorted(TAX.categories)),
    role=st.sampled_from(ROLES),
    purpose=st.sampled_from(PURPOSES),
    recipient=st.sampled_from([None, "card-processor"]),
)
def test_explain_agrees_with_table(
    action: Action, category: str, role: str, purpose: str, recipient: str | None
) -> None:
    policy = policies()[0]
    ex = policy.explain(action=action, category=category, role=role, purpose=purpose,
                        recipient=recipient)  # fmt: skip
    d = policy.decide(action=action, category=category, role=role, purpose=purpose,
                      recipient=recipient)  # fmt: skip
    assert ex.decision == d
    applied = [s.rule_id for s in ex.steps if s.applied]
    assert applied[-1] == d.rule_id
