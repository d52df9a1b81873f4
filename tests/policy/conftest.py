from __future__ import annotations

from pathlib import Path

import pytest

from dataward.policy import Policy, load_policy


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy()


@pytest.fixture
def write_policy(tmp_path: Path):  # type: ignore[no-untyped-def]
    def write(text: str, name: str = "policy.yaml") -> Path:
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return p

    return write
