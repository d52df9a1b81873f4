"""The seeded draw of decision requests that policy_bench and http_bench share (each its mix)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from dataward.policy import Policy
from dataward.taxonomy import DataClass

Request = tuple[str, str, str, str, str | None]  # action, category, role, purpose, recipient
# weight, actions, classes, role, purpose
MixRow = tuple[int, tuple[str, ...], tuple[str, ...], str, str]


def make_requests(policy: Policy, n: int, seed: int, mix: Sequence[MixRow]) -> list[Request]:
    """``n`` seeded requests drawn from ``mix``, categories from the policy's taxonomy."""
    rows = mix
    rng = random.Random(seed)
    by_class = {dc.value: [c.name for c in policy.taxonomy.in_class(dc)] for dc in DataClass}
    weights = [m[0] for m in rows]
    out: list[Request] = []
    for _ in range(n):
        _, actions, classes, role, purpose = rng.choices(rows, weights)[0]
        action = rng.choice(actions)
        cat = rng.choice(by_class[rng.choice(classes)])
        rec = None
        if action == "share":
            rec = "card-processor" if rng.random() < 0.9 else "ad-network"
        out.append((action, cat, role, purpose, rec))
    return out
