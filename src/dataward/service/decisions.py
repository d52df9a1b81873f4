"""Decision logging with group commit: every ``/v1/decide`` answer is audited, in batches.

Writing one audit entry per decision would cost a database transaction per request. Instead the
endpoint queues the entry (no I/O) and a background thread appends what has queued up with ONE
:meth:`AuditLog.append_many` every ``flush_seconds``, or as soon as ``batch_size`` entries wait
(the group commit of OPA's decision logs). The queue is bounded: when it is full, :meth:`offer`
says so and :meth:`put` blocks briefly, then raises :class:`StorageError` (503): a decision is
never answered without its entry being accepted, and nothing is dropped silently.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Container, Mapping, Sequence
from typing import Any, Final

from dataward.audit import AuditLog
from dataward.errors import AuditSchemaError, DatawardError, StorageError
from dataward.policy.model import Decision

__all__ = ["DEFAULT_BATCH_SIZE", "DecisionRecorder", "decision_entry"]

_log = logging.getLogger("dataward.service.decisions")

DEFAULT_BATCH_SIZE: Final = 500
DEFAULT_MAX_PENDING: Final = 10_000
_RETRY_LIMIT_ON_CLOSE: Final = 3
_BACKLOG_FACTOR: Final = 10

Entry = Mapping[str, Any]


def decision_entry(
    *,
    key_id: str,
    role: str,
    category: str,
    purpose: str,
    recipient: str | None,
    decision: Decision,
    known_purposes: Container[str],
    known_recipients: Container[str],
) -> dict[str, Any]:
    """The audit entry of one decision: the key id, and the policy's own vocabulary only.

    A purpose or recipient the policy does not know is left out (the decision's rule,
    ``builtin:unknown-purpose`` / ``builtin:unknown-recipient``, says what was wrong): no text
    chosen by the caller reaches the log, so these entries need no detector scrubbing.
    """
    entry: dict[str, Any] = {
        "actor_id": key_id,
        "actor_role": role,
        "action": "decide",
        "categories": (category,),
        "allowed": decision.allowed,
        "rule_id": decision.rule_id[:128],
        "outcome": "ok" if decision.allowed else "denied",
    }
    if purpose in known_purposes:
        entry["purpose"] = purpose
    if decision.policy_version:
        entry["policy_version"] = decision.policy_version
    if recipient is not None and recipient in known_recipients:
        entry["recipient"] = recipient
    return entry


def _fallback(entry: Entry) -> dict[str, Any]:
    """What is kept of an entry the log refused: who decided, that it happened, no details."""
    out: dict[str, Any] = {
        "actor_id": entry["actor_id"],
        "actor_role": entry["actor_role"],
        "action": entry.get("action", "decide"),
        "outcome": "error",
    }
    if entry.get("categories"):
        out["categories"] = entry["categories"]
    return out


class DecisionRecorder:
    """Queue decision entries; a daemon thread appends them to ``audit`` in batches."""

    def __init__(
        self,
        audit: AuditLog,
        *,
        flush_seconds: float = 0.05,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_pending: int = DEFAULT_MAX_PENDING,
        put_timeout: float = 10.0,
    ) -> None:
        self._audit = audit
        self._flush_seconds = flush_seconds
        self._batch_size = batch_size
        self._max_pending = max(max_pending, batch_size)
        self._put_timeout = put_timeout
        self._queue: deque[Entry] = deque()
        self._cond = threading.Condition()
        self._queued = 0  # entries ever accepted
        self._done = 0  # entries ever written (or recorded as failed, loudly)
        self._urgent = False
        self._stopping = False
        self._failures = 0
        self._thread = threading.Thread(target=self._run, name="dataward-decision-log", daemon=True)
        self._thread.start()

    # --- producers ------------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Entries accepted but not yet written."""
        return self._queued - self._done

    def offer(self, entries: Sequence[Entry]) -> bool:
        """Queue ``entries`` if there is room now; never blocks. False: call :meth:`put`."""
        with self._cond:
            if self._stopping:
                raise StorageError("the service is shutting down; retry on another instance")
            pending = self._queued - self._done  # waiting and being written
            if pending and pending + len(entries) > self._max_pending:
                return False
            self._queue.extend(entries)
            self._queued += len(entries)
            if len(self._queue) >= self._batch_size:
                self._cond.notify_all()
        return True

    def put(self, entries: Sequence[Entry], timeout: float | None = None) -> None:
        """Queue ``entries``, waiting up to ``timeout`` seconds for room (blocking: call it
        from a worker thread). Raises :class:`StorageError` when the log stays behind."""
        deadline = time.monotonic() + (self._put_timeout if timeout is None else timeout)
        with self._cond:
            while True:
                if self._stopping:
                    raise StorageError("the service is shutting down; retry on another instance")
                pending = self._queued - self._done
                if not pending or pending + len(entries) <= self._max_pending:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StorageError(
                        "the decision audit log is behind (database slow or unreachable); "
                        "nothing was decided, retry shortly"
                    )
                self._cond.wait(left)
            self._queue.extend(entries)
            self._queued += len(entries)
            self._cond.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Write everything queued so far; True when it was written within ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._queued
            self._urgent = True
            self._cond.notify_all()
            while self._done < target:
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return self._done >= target
                self._cond.wait(left)
        return True

    def close(self) -> None:
        """Stop accepting entries, write what waits, stop the thread."""
        with self._cond:
            if self._stopping:
                return
            self._stopping = True
            self._cond.notify_all()
        self._thread.join()

    # --- the writer thread ----------------------------------------------------------------------

    def _take(self) -> list[Entry] | None:
        """The next batch, or None when stopping with nothing left."""
        with self._cond:
            while not self._queue:
                if self._stopping:
                    return None
                self._urgent = False
                self._cond.wait()
            if len(self._queue) < self._batch_size and not (self._urgent or self._stopping):
                self._cond.wait(self._flush_seconds)  # let what waits grow into a batch
            # a backlog goes in bigger transactions: fewer turns at the database's write lock
            n = min(self._batch_size * _BACKLOG_FACTOR, len(self._queue))
            return [self._queue.popleft() for _ in range(n)]

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            try:
                written = self._write(batch)
            except Exception as exc:  # the thread must survive anything; say so loudly
                _log.error("lost %d decision audit entries (%s)", len(batch), type(exc).__name__)
                written = True
            with self._cond:
                if written:
                    self._done += len(batch)
                else:
                    self._queue.extendleft(reversed(batch))
                self._cond.notify_all()
            if not written:
                time.sleep(min(1.0, self._flush_seconds * 2 ** min(self._failures, 10)))

    def _write(self, batch: list[Entry]) -> bool:
        """True when the batch is in the log (or, for entries the log refuses, a trace of them);
        False to retry it later (the database failed)."""
        try:
            self._audit.append_many(batch)
        except AuditSchemaError:
            self._write_one_by_one(batch)
        except DatawardError as exc:
            self._failures += 1
            if self._stopping and self._failures > _RETRY_LIMIT_ON_CLOSE:
                _log.error(
                    "shutting down with %d decision audit entries unwritten (%s)",
                    len(batch),
                    exc.code,
                )
                return True
            _log.warning(
                "cannot write %d decision audit entries yet (%s); retrying", len(batch), exc.code
            )
            return False
        self._failures = 0
        return True

    def _write_one_by_one(self, batch: list[Entry]) -> None:
        refused = 0
        for entry in batch:
            try:
                self._audit.append(entry)
            except AuditSchemaError:
                refused += 1
                self._audit.append(_fallback(entry))
        _log.error(
            "the audit log refused %d decision entries; each was logged with outcome 'error' "
            "and without its details",
            refused,
        )
