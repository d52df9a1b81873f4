"""Entry factories shared by the audit tests (a plain module: conftest is not importable)."""

from __future__ import annotations

from typing import Any


def make_fields(i: int = 0, **over: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "actor_id": f"svc-{i % 3}",
        "actor_role": "service",
        "action": ["create", "store", "use", "share"][i % 4],
        "subject_ref": f"subj-{i % 5}",
        "categories": ["contact.email", "person.name"] if i % 2 else ["billing.iban"],
        "decision": {"allowed": i % 7 != 0, "rule_id": f"rule-{i % 4}", "policy_version": "1.0"},
        "purpose": "contract",
        "request_id": f"req-{i}",
    }
    if fields["action"] == "share":
        fields["recipient"] = "processor-acme"
    fields.update(over)
    return fields
