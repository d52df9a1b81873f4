"""``dataward serve --workers 2``: each worker serves, a dead worker is replaced, SIGTERM stops
them all (a real process tree on loopback)."""

from __future__ import annotations

import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dataward.service.server import bind_reuseport_sockets, bind_socket
from dataward.service.supervisor import STABLE_SECONDS, Supervisor, restart_delay

DATAWARD = str(Path(sys.executable).with_name("dataward"))
_OURS = ("DATAWARD_HOME", "DATAWARD_DATABASE_URL", "DATAWARD_POLICY")
_OUR_PREFIXES = ("DATAWARD_VAULT_", "DATAWARD_SERVICE_", "DATAWARD_PROCESSOR_")
_HEALTH_LINE = re.compile(r"\[(\d+)\] GET /healthz 200 ")


def _workers(pid: int) -> set[int]:
    """The spawned worker processes of ``pid`` (not multiprocessing's resource tracker)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z" and b"spawn_main" in cmdline:
            found.add(int(stat.parent.name))
    return found


def _gone(pid: int) -> bool:
    try:
        return "\nState:\tZ" in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True


def _health(port: int) -> bytes:
    """GET /healthz on a NEW connection (the kernel picks the worker per connection)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    return data


def _wait(predicate: object, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def health_pids(self) -> list[int]:
        """The pid of the process that wrote each /healthz access line, in order."""
        return [int(m) for m in _HEALTH_LINE.findall(self.log.read_text(errors="replace"))]


def _serve(home: Path) -> Served:
    """Start ``dataward serve --workers 2`` in ``home``; return once both workers are up."""
    env = {k: v for k, v in os.environ.items() if k not in _OURS}
    env = {k: v for k, v in env.items() if not k.startswith(_OUR_PREFIXES)}
    env["DATAWARD_SERVICE_PROCESSOR"] = "false"
    port_file, log = home / "port", home / "serve.log"
    cmd = [DATAWARD, "--home", str(home), "serve", "--port", "0", "--port-file", str(port_file)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*cmd, "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
    try:
        _wait(lambda: port_file.exists() or proc.poll() is not None, "the port file")
        assert proc.poll() is None, log.read_text(errors="replace")
        port = int(port_file.read_text())
        _wait(
            lambda: log.read_text(errors="replace").count("Application startup complete") >= 2,
            "both workers to start",
        )
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return Served(proc, port, log)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = _serve(tmp_path_factory.mktemp("workers-home"))
    try:
        yield s
    finally:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()


def test_both_workers_serve(served: Served) -> None:
    workers = _workers(served.proc.pid)
    assert len(workers) == 2
    before = len(served.health_pids())
    for _ in range(24):  # 24 connections all on one worker: odds 2 in 2**24
        assert _health(served.port).startswith(b"HTTP/1.1 200 ")
    _wait(lambda: len(served.health_pids()) >= before + 24, "the access lines")
    assert set(served.health_pids()[before:]) == workers
    assert f"2 workers listening on port {served.port}" in served.log.read_text(errors="replace")


def test_a_dead_worker_is_replaced(served: Served) -> None:
    old = _workers(served.proc.pid)
    victim = min(old)
    os.kill(victim, signal.SIGKILL)
    _wait(lambda: len(_workers(served.proc.pid) - {victim}) == 2, "a new worker")
    new = _workers(served.proc.pid) - old
    assert len(new) == 1
    _wait(
        lambda: served.log.read_text(errors="replace").count("Application startup complete") >= 3,
        "the new worker's app",
    )
    before = len(served.health_pids())
    for _ in range(24):
        assert _health(served.port).startswith(b"HTTP/1.1 200 ")
    _wait(lambda: len(served.health_pids()) >= before + 24, "the access lines")
    assert set(served.health_pids()[before:]) == (old - {victim}) | new
    assert re.search(
        r"exited with code -9 after [\d.]+ s; starting another",
        served.log.read_text(errors="replace"),
    )


def test_sigterm_stops_every_worker_gracefully(served: Served) -> None:
    workers = _workers(served.proc.pid)
    assert len(workers) == 2
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(timeout=60) == 0, served.log.read_text(errors="replace")
    _wait(lambda: all(_gone(pid) for pid in workers), "the workers to exit", timeout=10)
    log = served.log.read_text(errors="replace")
    assert log.count("Application shutdown complete") >= 2  # each ran its app's shutdown
    with pytest.raises(OSError):
        _health(served.port)


def test_reuseport_sockets_share_one_port_picked_by_the_first() -> None:
    socks = bind_reuseport_sockets("127.0.0.1", 0, 3)
    try:
        ports = {s.getsockname()[1] for s in socks}
        assert len(socks) == 3 and len(ports) == 1 and ports != {0}
        (port,) = ports
        # connections are spread over the three listening sockets, each accepts its own
        conns = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(30)]
        for s in socks:
            s.setblocking(False)
        counts = []
        for s in socks:
            n = 0
            while True:
                try:
                    accepted, _ = s.accept()
                except BlockingIOError:
                    break
                accepted.close()
                n += 1
            counts.append(n)
        assert sum(counts) == 30 and all(counts)  # all three empty-handed: odds 3 * (2/3)**30
        for c in conns:
            c.close()
    finally:
        for s in socks:
            s.close()


def test_workers_exit_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    s = _serve(tmp_path)
    workers = _workers(s.proc.pid)
    assert len(workers) == 2
    s.proc.kill()  # SIGKILL: the supervisor cannot stop anyone itself
    s.proc.wait()
    _wait(lambda: all(_gone(pid) for pid in workers), "the orphaned workers to exit", timeout=60)
    with pytest.raises(OSError):
        _health(s.port)


def test_restart_delay_doubles_with_each_short_run_up_to_the_cap() -> None:
    assert [restart_delay(n) for n in range(8)] == [0, 1, 2, 4, 8, 16, 30, 30]


class _Proc:
    """A stand-in for a dead worker process (what the supervisor reads of one)."""

    pid = 4242
    exitcode = 1

    def is_alive(self) -> bool:
        return False

    def close(self) -> None:
        pass


def test_a_crashing_worker_is_restarted_later_each_time_and_at_once_after_a_long_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rebound: list[socket.socket] = []

    def rebind() -> socket.socket:
        rebound.append(socket.socket())
        return rebound[-1]

    sup = Supervisor(lambda env, sock: None, {}, [socket.socket()], grace_seconds=1, rebind=rebind)
    starts: list[float] = []
    clock = [0.0]

    def start(i: int) -> None:
        if sup.sockets[i].fileno() < 0:  # closed while it waited: a fresh one (as _start)
            sup.sockets[i] = sup.rebind()  # type: ignore[misc]
        starts.append(clock[0])
        sup.workers[i] = _Proc()  # type: ignore[assignment]  # dies at once
        sup.started_at[i] = clock[0]
        sup.retry_at[i] = None

    monkeypatch.setattr(sup, "_start", start)
    start(0)
    for _ in range(400):  # 40 s, polled every 0.1 s
        clock[0] = round(clock[0] + 0.1, 1)
        sup._restart_dead(clock[0])
    gaps = [round(b - a, 1) for a, b in itertools.pairwise(starts)]
    assert gaps == [1.1, 2.1, 4.1, 8.1, 16.1]  # each found dead 0.1 s after its start
    # while each waited, its listening socket was closed; each restart got a fresh one
    assert len(rebound) == len(gaps)
    assert all(s.fileno() < 0 for s in rebound)  # the last one too: it is waiting again
    # a worker that ran for STABLE_SECONDS is restarted at once, and the back-off starts over
    sup.started_at[0] = clock[0] - STABLE_SECONDS
    sup.retry_at[0] = None
    before = len(starts)
    sup._restart_dead(clock[0])
    assert len(starts) == before + 1 and sup.short_runs[0] == 0
    for sock in (*rebound, *sup.sockets):
        sock.close()


def test_a_reuseport_listener_is_kept_as_the_first_workers_socket() -> None:
    # `dataward serve --workers N` binds its socket this way, so the port is never released
    first = bind_socket("127.0.0.1", 0, reuseport=True)
    try:
        assert first.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
        port = first.getsockname()[1]
        (joined,) = bind_reuseport_sockets("127.0.0.1", port, 1)
        joined.close()
        plain = bind_socket("127.0.0.1", 0)
        assert not plain.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
        plain.close()
    finally:
        first.close()
