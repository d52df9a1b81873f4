"""Sample policy texts shared by the policy tests."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"

MINIMAL = """\
metadata:
  version: "1"
  effective: 2026-11-01
  owner: "DPM <dpm@example.com>"
processors:
  card-processor: {purpose: billing, categories: [card.pan, contact.email], dpa: DPA-1, country: CH}
rules:
  - id: low-support
    class: low
    actions: [create, store, use]
    effect: allow
    roles: [support]
    purposes: [support]
    obligations: [encrypt, audit]
    retention: {keep: P3Y, archive: P7Y}
    cites: "The low class comprises of: Civility."
"""
