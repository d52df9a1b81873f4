"""Shared detectors: built once per test process (building compiles every pattern)."""

from __future__ import annotations

import pytest

from dataward.detect import Detector, pattern_recognizers


@pytest.fixture(scope="session")
def patterns() -> Detector:
    """The pattern + validator recognizers only (fast to build)."""
    return Detector(pattern_recognizers())


@pytest.fixture(scope="session")
def full() -> Detector:
    """The default detector, with the lexicon recognizers."""
    return Detector.default()
