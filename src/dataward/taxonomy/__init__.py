"""The taxonomy: classes, categories and actions, loaded from the data shipped in the package."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml

from dataward.errors import ConfigurationError
from dataward.taxonomy.model import Action, Category, DataClass, Taxonomy

__all__ = ["Action", "Category", "DataClass", "Taxonomy", "class_of", "default_taxonomy"]


@functools.cache
def default_taxonomy() -> Taxonomy:
    """The taxonomy shipped with dataward (read once, then cached)."""
    text = resources.files(__package__).joinpath("taxonomy.yaml").read_text(encoding="utf-8")
    return _parse(yaml.safe_load(text))


def class_of(category: str) -> DataClass:
    """The class of a shipped category; :class:`~dataward.errors.UnknownCategoryError` if none."""
    return default_taxonomy().class_of(category)


def _parse(doc: Any) -> Taxonomy:
    try:
        actions = tuple(Action(a) for a in doc["actions"])
        class_desc = {DataClass(k): str(v["description"]) for k, v in doc["classes"].items()}
        cats: dict[str, Category] = {}
        for group, spec in doc["groups"].items():
            dc = DataClass(spec["class"])
            for name, desc in spec["categories"].items():
                cats[name] = Category(
                    name=name,
                    data_class=dc,
                    description=str(desc),
                    group=str(group),
                    agreement=str(spec["agreement"]),
                )
    except (KeyError, TypeError, ValueError) as exc:  # pragma: no cover - shipped data is tested
        raise ConfigurationError(f"the shipped taxonomy is malformed ({exc}); reinstall") from exc
    return Taxonomy(cats, actions, class_desc)
