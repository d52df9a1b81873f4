"""Lower layers never import higher ones (ARCHITECTURE.md). Checked on the source, statically."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import dataward

PACKAGE = Path(dataward.__file__).parent

# module -> the dataward modules it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "files": set(),
    "settings": {"errors"},
    "taxonomy": {"errors"},
    "policy": {"errors", "settings", "taxonomy"},
    "detect": {"errors", "settings", "taxonomy", "policy"},
    "logging": {"errors", "taxonomy", "detect"},
    "db": {"errors", "settings"},
    "audit": {"errors", "files", "settings", "taxonomy", "policy", "detect", "db"},
    "vault": {
        "errors", "files", "settings", "taxonomy", "policy", "detect", "db", "audit", "logging",
    },
    "cards": {
        "errors", "files", "settings", "taxonomy", "policy", "detect", "db", "audit", "vault",
        "logging",
    },
    # the reference processor stands for an outside system: it shares only validation and errors
    "processor_service": {"errors", "settings", "cards"},
    "service": {
        "errors", "files", "settings", "taxonomy", "policy", "detect", "db", "audit", "vault",
        "logging", "cards",
    },
    "cli": {
        "errors", "files", "settings", "taxonomy", "policy", "detect", "db", "audit", "vault",
        "logging", "cards", "service",
    },
}  # fmt: skip


def _top_modules() -> list[str]:
    names = []
    for p in PACKAGE.iterdir():
        if p.name.startswith("_") or p.name == "testing.py":
            continue
        if p.is_dir() and (p / "__init__.py").exists():
            names.append(p.name)
        elif p.suffix == ".py":
            names.append(p.stem)
    return sorted(names)


def _imports_of(module: str) -> set[str]:
    root = PACKAGE / module
    files = sorted(root.rglob("*.py")) if root.is_dir() else [root.with_suffix(".py")]
    found: set[str] = set()
    for f in files:
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for n in names:
                parts = n.split(".")
                if parts[0] == "dataward" and len(parts) > 1:
                    found.add(parts[1])
    found.discard(module)
    return found


def test_every_module_has_a_layer() -> None:
    assert set(_top_modules()) <= set(ALLOWED), "add new modules to ALLOWED with their layer"


@pytest.mark.parametrize("module", _top_modules())
def test_lower_layers_never_import_higher_ones(module: str) -> None:
    illegal = _imports_of(module) - ALLOWED.get(module, set())
    assert not illegal, f"dataward.{module} imports {sorted(illegal)}"
