"""The worker supervisor of ``dataward serve --workers N``.

One spawned process per listening socket (each its own ``SO_REUSEPORT`` socket of the one
port). A worker that dies is restarted: at once if it had run for :data:`STABLE_SECONDS`, else
after a delay that doubles with each short-lived run (:func:`restart_delay`: 1, 2, 4 ... 30 s), so
a worker that cannot start does not spin. SIGINT or SIGTERM to the supervisor sends SIGTERM
(uvicorn's graceful stop) to every worker and waits for them; a worker still running after the
grace period is killed. On Linux each worker also asks the kernel for SIGTERM when the supervisor
dies, so a supervisor killed with SIGKILL leaves no orphan workers holding the port.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from multiprocessing.context import SpawnProcess
from types import FrameType
from typing import Final

__all__ = [
    "MAX_RESTART_DELAY",
    "POLL_SECONDS",
    "RESTART_DELAY",
    "STABLE_SECONDS",
    "Supervisor",
    "WorkerTarget",
    "restart_delay",
]

#: How often the supervisor looks at its workers.
POLL_SECONDS: Final = 0.2
#: The delay before restarting a worker after its first short-lived run; it doubles with each
#: further one, up to :data:`MAX_RESTART_DELAY`.
RESTART_DELAY: Final = 1.0
MAX_RESTART_DELAY: Final = 30.0
#: A worker that ran this long was healthy: if it dies, it is restarted at once.
STABLE_SECONDS: Final = 10.0
_PR_SET_PDEATHSIG: Final = 1


def restart_delay(short_runs: int) -> float:
    """Seconds to wait before restarting a worker after ``short_runs`` consecutive runs shorter
    than :data:`STABLE_SECONDS` (0: it had been healthy, restart at once)."""
    if short_runs <= 0:
        return 0.0
    return float(min(RESTART_DELAY * 2 ** (short_runs - 1), MAX_RESTART_DELAY))


def _worker_main(
    target: WorkerTarget, supervisor_pid: int, env: dict[str, str], sock: socket.socket
) -> None:
    """A worker's first steps: die with the supervisor (Linux), then run ``target``."""
    if sys.platform == "linux":
        with suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != supervisor_pid:
            return  # the supervisor died before the request took effect
    target(env, sock)


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
        rebind: Callable[[], socket.socket] | None = None,
    ) -> None:
        self.target = target
        # A new listening socket on the same port (``SO_REUSEPORT``): while a dead worker
        # waits for its delayed restart, its socket is closed, so the kernel sends no new
        # connection to a queue nobody accepts from; the restart binds a fresh one.
        self.rebind = rebind
        self.env = env
        self.sockets = sockets
        self.grace_seconds = grace_seconds
        self.write_port = write_port
        self.workers: list[SpawnProcess | None] = [None] * len(sockets)
        self.started_at = [0.0] * len(sockets)
        self.short_runs = [0] * len(sockets)  # consecutive runs shorter than STABLE_SECONDS
        self.retry_at: list[float | None] = [None] * len(sockets)  # when a dead one restarts
        self.stop = threading.Event()

    def _start(self, i: int) -> None:
        if self.sockets[i].fileno() < 0 and self.rebind is not None:
            self.sockets[i] = self.rebind()
        proc = _spawn.Process(
            target=_worker_main,
            args=(self.target, os.getpid(), self.env, self.sockets[i]),
            name=f"dataward-worker-{i}",
        )
        proc.start()
        self.workers[i] = proc
        self.started_at[i] = time.monotonic()
        self.retry_at[i] = None

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

    def _restart_dead(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for i, proc in enumerate(self.workers):
            if proc is None or proc.is_alive() or self.stop.is_set():
                continue
            retry = self.retry_at[i]
            if retry is None:  # just found dead: schedule its restart
                lived = now - self.started_at[i]
                self.short_runs[i] = 0 if lived >= STABLE_SECONDS else self.short_runs[i] + 1
                delay = restart_delay(self.short_runs[i])
                retry = self.retry_at[i] = now + delay
                if delay and self.rebind is not None:
                    self.sockets[i].close()  # its queued clients get a reset, not a hang
                _log.warning(
                    "worker %d (pid %s) exited with code %s after %.1f s; starting another%s",
                    i,
                    proc.pid,
                    proc.exitcode,
                    lived,
                    f" in {delay:.0f} s" if delay else "",
                )
            if now < retry:
                continue
            proc.close()
            try:
                self._start(i)
            except Exception as exc:  # e.g. the port could not be bound again: retry later
                _log.error("worker %d could not be started (%s); retrying", i, type(exc).__name__)
                self.retry_at[i] = now + RESTART_DELAY

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
