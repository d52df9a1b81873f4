"""The public API is exactly what `dataward.__all__` lists, and every name there is importable."""

from __future__ import annotations

import inspect

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
        for name, obj in vars(dataward).items()
        if not name.startswith("_") and not inspect.ismodule(obj) and name not in {"annotations"}
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
