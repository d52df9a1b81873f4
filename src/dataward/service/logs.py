"""Logging of the service: every line through the :class:`~dataward.logging.RedactingFilter`.

:func:`log_config` is the :func:`logging.config.dictConfig` that ``dataward serve`` gives
uvicorn and its workers; its handler is a :class:`BatchingStreamHandler`, which writes INFO and
DEBUG lines (the access log) in batches instead of one system call per line.
"""

from __future__ import annotations

import logging
import threading
from typing import IO, Any

__all__ = ["BatchingStreamHandler", "log_config"]


def log_config(level: str = "info") -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` for uvicorn and dataward: one stderr handler whose
    records all pass through the :class:`~dataward.logging.RedactingFilter`."""
    upper = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": "dataward.logging.RedactingFilter"}},
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"}
        },
        "handlers": {
            "stderr": {  # access lines in batches, warnings and errors at once
                "class": "dataward.service.logs.BatchingStreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "plain",
                "filters": ["redact"],
            },
            "null": {"class": "logging.NullHandler"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": upper, "propagate": False},
            "uvicorn.access": {"handlers": ["null"], "level": "CRITICAL", "propagate": False},
            "dataward": {"handlers": ["stderr"], "level": upper, "propagate": False},
        },
    }


class BatchingStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A :class:`logging.StreamHandler` that writes lines below WARNING in batches.

    A stream handler flushes after every record: one ``write`` system call per access-log
    line, a large share of a fast request's cost. This one keeps the formatted INFO and DEBUG
    lines and writes them in one call every ``interval`` seconds (a daemon thread), as soon as
    ``max_lines`` wait, or before any WARNING or worse line (which is written at once, after
    them: the order is kept). :meth:`flush` and :meth:`close` (run by ``logging.shutdown`` at
    exit) write what waits. A process killed outright loses at most ``interval`` seconds of
    INFO lines.
    """

    def __init__(
        self, stream: IO[str] | None = None, interval: float = 0.2, max_lines: int = 512
    ) -> None:
        super().__init__(stream)
        self.interval = interval
        self.max_lines = max_lines
        self._pending: list[str] = []
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def emit(self, record: logging.LogRecord) -> None:  # called with self.lock held
        try:
            self._pending.append(self.format(record))
            if record.levelno >= logging.WARNING or len(self._pending) >= self.max_lines:
                self._write_pending()
            elif self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="dataward-log-writer", daemon=True
                )
                self._thread.start()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def _write_pending(self) -> None:
        if self._pending:
            text = self.terminator.join(self._pending) + self.terminator
            self._pending.clear()
            self.stream.write(text)
        if hasattr(self.stream, "flush"):
            self.stream.flush()

    def flush(self) -> None:
        self.acquire()
        try:
            if self.stream:
                self._write_pending()
        finally:
            self.release()

    def _run(self) -> None:
        while not self._wake.wait(self.interval):
            try:
                self.flush()
            except Exception:  # the stream went away (closed at exit): stop quietly
                return

    def close(self) -> None:
        self._wake.set()
        try:
            self.flush()
        finally:
            super().close()
