"""Keep personal data out of logs: :class:`RedactingFilter`, a standard ``logging.Filter``.

Install it on a handler (or a logger)::

    handler.addFilter(RedactingFilter())

It formats the record's message with its arguments, redacts what the detector finds (category
tags by default), and replaces ``msg``/``args``; the exception and stack text are formatted and
redacted too, so no formatter downstream sees the raw values.
"""

from __future__ import annotations

import logging
import traceback

from dataward.detect.engine import Detector
from dataward.detect.redact import Operator, redact

__all__ = ["SAFE_RECORD", "RedactingFilter"]

#: ``extra={SAFE_RECORD: True}`` marks a record built only from vocabulary and identifiers (an
#: access line: method, route template, status, time, key id); the filter passes it unscanned.
SAFE_RECORD = "dataward_safe"


class RedactingFilter(logging.Filter):
    """Redacts personal data from every record it sees; never drops a record."""

    def __init__(
        self,
        name: str = "",
        *,
        detector: Detector | None = None,
        operator: Operator | str = Operator.REPLACE,
        key: bytes | None = None,
    ) -> None:
        super().__init__(name)
        self._detector = detector
        self._operator = Operator(operator)
        self._key = key

    def _redact(self, text: str) -> str:
        det = self._detector or Detector.default()
        return redact(text, operator=self._operator, key=self._key, detector=det)

    def filter(self, record: logging.LogRecord) -> bool:
        if not super().filter(record):
            return False
        if getattr(record, SAFE_RECORD, False) is True and not record.exc_info:
            return True
        try:
            message = record.getMessage()
        except Exception:
            message = " ".join([str(record.msg), *(str(a) for a in (record.args or ()))])
        record.msg = self._redact(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            text = "".join(traceback.format_exception(*record.exc_info))
            record.exc_text = self._redact(text.rstrip("\n"))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        return True
