"""The worker supervisor of ``dataward serve --workers N``.

One spawned process per listening socket (each its own ``SO_REUSEPORT`` socket of the one
port). A worker that dies is restarted, at most once per :data:`RESTART_DELAY` seconds each (no
tight crash loop). SIGINT or SIGTERM to the supervisor sends SIGTERM (uvicorn's graceful stop) to
every worker and waits for them; a worker still running after the grace period is killed.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from multiprocessing.context import SpawnProcess
from types import FrameType
from typing import Final

__all__ = ["POLL_SECONDS", "RESTART_DELAY", "Supervisor", "WorkerTarget"]

#: How often the supervisor looks at its workers.
POLL_SECONDS: Final = 0.2
#: The least time between two starts of the same worker.
RESTART_DELAY: Final = 1.0
#: A worker's entry point: a module-level function (spawned processes import it) called with
#: the worker's environment and its listening socket.
WorkerTarget = Callable[[dict[str, str], socket.socket], None]

_spawn = multiprocessing.get_context("spawn")
_log = logging.getLogger("dataward.service")


class Supervisor:
    """Runs one spawned worker per socket; restarts the dead ones until asked to stop."""

    def __init__(
        self,
        target: WorkerTarget,
        env: dict[str, str],
        sockets: list[socket.socket],
        *,
        grace_seconds: float,
        write_port: Callable[[int], None] | None = None,
    ) -> None:
        self.target = target
        self.env = env
        self.sockets = sockets
        self.grace_seconds = grace_seconds
        self.write_port = write_port
        self.workers: list[SpawnProcess | None] = [None] * len(sockets)
        self.started_at = [0.0] * len(sockets)
        self.stop = threading.Event()

    def _start(self, i: int) -> None:
        proc = _spawn.Process(
            target=self.target,
            args=(self.env, self.sockets[i]),
            name=f"dataward-worker-{i}",
        )
        proc.start()
        self.workers[i] = proc
        self.started_at[i] = time.monotonic()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.stop.set()

    def run(self) -> None:
        """Start the workers, then supervise them until SIGINT or SIGTERM."""
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            for i in range(len(self.sockets)):
                self._start(i)
            _log.info(
                "dataward service: %d workers listening on port %d",
                len(self.sockets),
                self.sockets[0].getsockname()[1],
            )
            if self.write_port is not None:  # queued connections wait in the backlog
                self.write_port(int(self.sockets[0].getsockname()[1]))
            while not self.stop.wait(POLL_SECONDS):
                self._restart_dead()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _restart_dead(self) -> None:
        now = time.monotonic()
        for i, proc in enumerate(self.workers):
            if proc is None or proc.is_alive() or self.stop.is_set():
                continue
            if now - self.started_at[i] < RESTART_DELAY:
                continue  # it died young: wait a little before the next try
            _log.warning(
                "worker %d (pid %s) exited with code %s; starting another",
                i,
                proc.pid,
                proc.exitcode,
            )
            proc.close()
            self._start(i)

    def _stop_all(self) -> None:
        live = [p for p in self.workers if p is not None and p.is_alive()]
        for proc in live:
            if proc.pid is not None:
                with suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGTERM)
        # running requests get the grace period; then each app's shutdown flushes its audit
        deadline = time.monotonic() + self.grace_seconds
        for proc in live:
            proc.join(max(0.0, deadline - time.monotonic()))
        for proc in live:
            if proc.is_alive():
                _log.error("worker pid %s did not stop in time; killing it", proc.pid)
                proc.kill()
                proc.join()
