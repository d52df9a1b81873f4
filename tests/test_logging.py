"""RedactingFilter keeps personal data out of log output."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from dataward.detect import Detector, pattern_recognizers
from dataward.logging import RedactingFilter


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(pattern_recognizers())


@pytest.fixture
def logger_and_stream(detector: Detector) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter(detector=detector))
    logger = logging.getLogger(f"dataward.test.{id(stream)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield logger, stream
    logger.removeHandler(handler)


def test_message_and_args_redacted(logger_and_stream: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logger_and_stream
    logger.info(
        "login for %s from %s with password=%s", "a.b@example.com", "203.0.113.7", "hunter2x"
    )
    out = stream.getvalue()
    assert "example.com" not in out and "203.0.113.7" not in out and "hunter2x" not in out
    assert "<contact.email>" in out and "<traffic.ip_address>" in out and "<secret.password>" in out


def test_exception_text_redacted(logger_and_stream: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logger_and_stream
    try:
        raise ValueError("bad card 4111 1111 1111 1111")
    except ValueError:
        logger.exception("payment failed for %s", "a.b@example.com")
    out = stream.getvalue()
    assert "4111 1111" not in out and "example.com" not in out
    assert "ValueError" in out and "<card.pan>" in out


def test_plain_messages_pass_unchanged(
    logger_and_stream: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = logger_and_stream
    logger.warning("cache warmed in %d ms", 12)
    assert stream.getvalue() == "WARNING cache warmed in 12 ms\n"


def test_mask_operator(detector: Detector) -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "card %s", ("4111 1111 1111 1111",), None
    )
    assert RedactingFilter(detector=detector, operator="mask").filter(record)
    assert record.getMessage() == "card **** **** **** 1111"
