"""The public API is exactly what `dataward.__all__` lists, and every name there is importable."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import dataward
from dataward import errors


def test_all_names_resolve() -> None:
    for name in dataward.__all__:
        assert hasattr(dataward, name), name


def test_all_is_sorted_and_unique() -> None:
    assert list(dataward.__all__) == sorted(set(dataward.__all__))


def test_every_public_object_is_in_all() -> None:
    public = {
        name
        for name in dir(dataward)
        if not name.startswith("_")
        and not inspect.ismodule(getattr(dataward, name))
        and name not in {"annotations", "TYPE_CHECKING", "Any"}
    }
    assert public <= set(dataward.__all__) | {"__version__"}
    assert set(dataward.__all__) - {"__version__"} <= public


def test_every_error_is_exported_and_rooted() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, dataward.DatawardError)
        assert name in dataward.__all__
        assert isinstance(cls.exit_code, int) and cls.exit_code != 0
        assert 400 <= cls.http_status < 600
        assert cls.code


def test_import_loads_only_the_errors_until_a_name_is_used() -> None:
    """`import dataward` stays light (the CLI and embedders pay only for what they use); each
    lazy name resolves to the object of the module that defines it."""
    code = (
        "import sys, dataward; heavy = [m for m in ('fastapi', 'sqlalchemy', 'hyperscan', "
        "'dataward.vault', 'dataward.service') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
    from dataward.vault import Vault

    assert dataward.Vault is Vault
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = dataward.Nope  # type: ignore[attr-defined]
