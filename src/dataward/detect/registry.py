"""The one place where the built-in recognizers are listed.

Plug-ins go through the same door: ``Detector(default_recognizers(plugins=[MyRecognizer()]))``.
"""

from __future__ import annotations

from collections.abc import Iterable

from dataward.detect.model import Recognizer
from dataward.detect.recognizers.contact import contact_recognizer
from dataward.detect.recognizers.finance import finance_recognizer
from dataward.detect.recognizers.identity import identity_recognizer
from dataward.detect.recognizers.network import network_recognizer
from dataward.detect.recognizers.secrets import secrets_recognizer

__all__ = ["builtin_recognizers", "default_recognizers", "pattern_recognizers"]


def pattern_recognizers() -> tuple[Recognizer, ...]:
    """The built-in pattern + validator recognizers (identifiers, secrets, cards, traffic)."""
    return (
        secrets_recognizer(),
        finance_recognizer(),
        identity_recognizer(),
        contact_recognizer(),
        network_recognizer(),
    )


def builtin_recognizers() -> tuple[Recognizer, ...]:
    """A fresh instance of every built-in recognizer."""
    # Imported here so the lexicon recognizers load their data only when a detector is built.
    from dataward.detect.recognizers.names import NameRecognizer
    from dataward.detect.recognizers.sensitive import SensitiveRecognizer

    return (*pattern_recognizers(), NameRecognizer(), SensitiveRecognizer())


def default_recognizers(
    plugins: Iterable[Recognizer] = (), *, exclude: Iterable[str] = ()
) -> tuple[Recognizer, ...]:
    """The built-ins (minus the ids in ``exclude``) followed by ``plugins``."""
    skip = frozenset(exclude)
    return tuple(r for r in builtin_recognizers() if r.id not in skip) + tuple(plugins)
