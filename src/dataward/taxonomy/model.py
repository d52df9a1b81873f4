"""Classes, categories and actions: the agreement's vocabulary as typed values."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from dataward.errors import PolicyError, UnknownCategoryError

__all__ = ["Action", "Category", "DataClass", "Taxonomy"]

_CATEGORY_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class Action(StrEnum):
    """The six actions the agreement gives a policy for."""

    CREATE = "create"
    STORE = "store"
    USE = "use"
    SHARE = "share"
    ARCHIVE = "archive"
    DESTROY = "destroy"


class DataClass(StrEnum):
    """The classes of the agreement, from the least to the most protected."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    SPECIAL = "special"
    FORBIDDEN = "forbidden"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    @property
    def protected(self) -> bool:
        """Special and forbidden classes can never be weakened by a user policy."""
        return self in (DataClass.SPECIAL, DataClass.FORBIDDEN)


_RANKS = {c: i for i, c in enumerate(DataClass, start=1)}


@dataclass(frozen=True, slots=True)
class Category:
    """One category of personal data, e.g. ``contact.email``."""

    name: str
    data_class: DataClass
    description: str
    group: str
    agreement: str
    shipped: bool = True

    @property
    def domain(self) -> str:
        """The part before the first dot: ``contact`` for ``contact.email``."""
        return self.name.split(".", 1)[0]


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """An immutable set of categories. Build extended copies with :meth:`extend`."""

    categories: Mapping[str, Category]
    actions: tuple[Action, ...] = tuple(Action)
    class_descriptions: Mapping[DataClass, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "categories", MappingProxyType(dict(self.categories)))
        object.__setattr__(
            self, "class_descriptions", MappingProxyType(dict(self.class_descriptions))
        )

    def __contains__(self, name: object) -> bool:
        return name in self.categories

    def __iter__(self) -> Iterator[Category]:
        return iter(self.categories.values())

    def __len__(self) -> int:
        return len(self.categories)

    def get(self, name: str) -> Category:
        """The category called ``name``; :class:`UnknownCategoryError` with suggestions if none."""
        try:
            return self.categories[name]
        except KeyError:
            raise UnknownCategoryError(name, self.suggest(name)) from None

    def class_of(self, name: str) -> DataClass:
        """The class of category ``name``."""
        return self.get(name).data_class

    def in_class(self, data_class: DataClass | str) -> tuple[Category, ...]:
        dc = DataClass(data_class)
        return tuple(c for c in self.categories.values() if c.data_class is dc)

    def suggest(self, name: str, n: int = 3) -> tuple[str, ...]:
        """Close known names for a misspelt ``name`` (for error messages)."""
        names = list(self.categories)
        close = difflib.get_close_matches(name, names, n=n, cutoff=0.6)
        if not close:
            # "emial" -> "contact.email", "communication.email": match on the last part too.
            leaves: dict[str, list[str]] = {}
            for c in names:
                leaves.setdefault(c.rsplit(".", 1)[-1], []).append(c)
            leaf = name.rsplit(".", 1)[-1]
            for m in difflib.get_close_matches(leaf, list(leaves), n=n):
                close.extend(leaves[m])
        return tuple(close[:n])

    def extend(self, additions: Iterable[Category]) -> Taxonomy:
        """A copy with user categories added.

        A user may add new categories, and may restate a shipped category with the same class.
        Reclassifying a shipped forbidden or special category is refused, as is reclassifying any
        shipped category into a weaker class.
        """
        merged = dict(self.categories)
        for cat in additions:
            if not _CATEGORY_NAME.match(cat.name):
                raise PolicyError(
                    f"category name {cat.name!r} is not a dotted lower-case name; "
                    "write it like 'contact.email' or 'acme.loyalty_number'"
                )
            existing = merged.get(cat.name)
            if existing is not None and existing.shipped:
                if existing.data_class.protected and cat.data_class is not existing.data_class:
                    raise PolicyError(
                        f"category {cat.name!r} is shipped as {existing.data_class.value!r} "
                        "and can never be reclassified; remove it from your 'categories' section"
                    )
                if cat.data_class.rank < existing.data_class.rank:
                    raise PolicyError(
                        f"category {cat.name!r} is shipped as {existing.data_class.value!r}; "
                        f"a policy may not weaken it to {cat.data_class.value!r}"
                    )
                cat = Category(
                    name=cat.name,
                    data_class=cat.data_class,
                    description=existing.description,
                    group=existing.group,
                    agreement=existing.agreement,
                    shipped=True,
                )
            merged[cat.name] = cat
        return Taxonomy(merged, self.actions, self.class_descriptions)
