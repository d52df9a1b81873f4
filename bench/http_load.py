"""http_load: a lean HTTP/1.1 load generator for bench/http_bench.py (run as its own process).

``python bench/http_load.py PLAN.json`` reads a plan written by the bench::

    {"host": "127.0.0.1", "port": 8000, "connections": 200, "seconds": 30, "warmup": 3,
     "timeout": 10, "watch_pids": [1234], "rate": 0,
     "requests": [{"path": "/v1/decide", "key": "dw_...", "body": "{...}", "expect": true}, ...]}

and prints one JSON object with the results on stdout. Each of ``connections`` keep-alive
connections sends one request at a time (no pipelining), cycling through the prepared requests
from its own offset: as fast as answers come (closed loop, ``rate`` 0), or on a schedule of
``rate`` requests/s over all connections (open loop; a late answer delays the next request of
its connection). The client is a callback-driven ``asyncio.Protocol`` on uvloop when installed:
no coroutine and no header dictionary per request (an open loop adds one timer), so the
generator leaves the CPU to the server. Latency is ``time.monotonic_ns()`` from the write of a
request (open loop: from its scheduled time, so a server that falls behind is charged for the
wait) to the last byte of its response. Only responses that complete inside the measured window
(after ``warmup``) count; the generator's own CPU time and that of the ``watch_pids`` processes
(and their children) are measured over the same window.

Errors: any non-2xx status, a connection refused/reset/closed with a request in flight, a
request with no complete answer after ``timeout`` seconds, and a 2xx decision whose ``allowed``
differs from ``expect`` (``wrong_answers``; ``expect`` is the number of ``"allowed":true`` the
answer must hold: 0 or 1 for one decision, the count of allowed ones for a batch).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

_CLK = os.sysconf("SC_CLK_TCK")
_ALLOWED = b'"allowed":true'  # the service writes compact JSON


@dataclass
class Stats:
    window_start: int = 0
    window_end: int = 0
    latencies: list[int] = field(default_factory=list)
    warmup_done: int = 0
    after_window: int = 0
    status: dict[int, int] = field(default_factory=dict)
    connection_errors: int = 0
    protocol_errors: int = 0
    timeouts: int = 0
    wrong_answers: int = 0
    allowed: int = 0
    denied: int = 0
    decisions: int = 0


def _build(req: dict[str, Any], host: str, port: int) -> tuple[bytes, int, int | None]:
    body = req["body"].encode()
    head = (
        f"POST {req['path']} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {req['key']}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    expect = req.get("expect")
    return (
        head.encode() + body,
        int(req.get("decisions", 1)),
        None if expect is None else int(expect),
    )


class Conn(asyncio.Protocol):
    """One keep-alive connection sending the prepared requests one after the other."""

    def __init__(self, run: Run, offset: int) -> None:
        self.run = run
        self.i = offset
        self.buf = b""
        self.sent = 0  # monotonic ns of the request in flight, 0 when idle
        self.due = 0  # open loop: when the next request is scheduled (monotonic ns)
        self.origin = 0  # where the latency of the request in flight counts from
        self.expect: int | None = None
        self.decisions = 1
        self.transport: asyncio.Transport | None = None
        self.replaced = False
        self.done: asyncio.Future[None] = run.loop.create_future()

    # asyncio callbacks --------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.run.connected += 1
        if self.run.connected == self.run.n and not self.run.go.done():
            self.run.go.set_result(None)

    def start(self) -> None:
        self.send()

    def send(self) -> None:
        run = self.run
        now = time.monotonic_ns()
        if run.interval_ns and now < self.due:  # open loop: wait for the scheduled time
            run.loop.call_later((self.due - now) / 1e9, self.write)
            return
        self.write()

    def write(self) -> None:
        run = self.run
        now = time.monotonic_ns()
        if now >= run.stats.window_end:
            self.finish()
            return
        payload, self.decisions, self.expect = run.requests[self.i % len(run.requests)]
        self.i += 1
        self.buf = b""
        self.sent = now
        # open loop: latency counts from the scheduled time, so a server that falls behind
        # is charged for the wait too (no coordinated omission)
        self.origin = min(self.due, now) if run.interval_ns else now
        self.due += run.interval_ns
        assert self.transport is not None
        self.transport.write(payload)

    def data_received(self, data: bytes) -> None:
        if not self.sent:
            return  # a late answer on a connection given up on
        buf = self.buf + data if self.buf else data
        hend = buf.find(b"\r\n\r\n")
        if hend < 0:
            self.buf = buf
            return
        head = buf[:hend].lower()
        c = head.find(b"\r\ncontent-length:")
        if c < 0:  # chunked or close-delimited: not produced by the service for JSON answers
            self.buf = b""
            self.fail()
            return
        e = head.find(b"\r\n", c + 2)
        length = int(head[c + 17 : e if e > 0 else len(head)])
        end = hend + 4 + length
        if len(buf) < end:
            self.buf = buf
            return
        self.complete(int(buf[9:12]), buf[hend + 4 : end])

    def connection_lost(self, exc: Exception | None) -> None:
        if self.replaced:
            return
        if self.sent:
            self.sent = 0
            self.run.stats.connection_errors += 1
            self.run.reconnect(self)
        elif not self.done.done():
            self.done.set_result(None)

    # ------------------------------------------------------------------------------------------
    def complete(self, status: int, body: bytes) -> None:
        now = time.monotonic_ns()
        st = self.run.stats
        self.sent = 0
        if now <= st.window_start:
            st.warmup_done += 1
        elif now > st.window_end:
            st.after_window += 1
        else:
            st.latencies.append(now - self.origin)
            st.status[status] = st.status.get(status, 0) + 1
            if 200 <= status < 300:
                st.decisions += self.decisions
                if self.expect is not None:
                    got = body.count(_ALLOWED)
                    st.allowed += got
                    st.denied += self.decisions - got
                    if got != self.expect:
                        st.wrong_answers += 1
        self.send()

    def fail(self) -> None:
        """An answer the generator cannot frame: count it, drop the connection, open another."""
        self.run.stats.protocol_errors += 1
        self.sent = 0
        self.run.reconnect(self)
        if self.transport is not None:
            self.transport.abort()

    def finish(self) -> None:
        self.sent = 0
        if self.transport is not None:
            self.transport.close()
        if not self.done.done():
            self.done.set_result(None)


class Run:
    def __init__(self, plan: dict[str, Any], loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.host: str = plan["host"]
        self.port: int = int(plan["port"])
        self.n: int = int(plan["connections"])
        self.seconds = float(plan["seconds"])
        self.warmup = float(plan.get("warmup", 2.0))
        rate = float(plan.get("rate", 0))  # requests/s over all connections; 0: closed loop
        self.interval_ns = int(self.n * 1e9 / rate) if rate > 0 else 0
        self.timeout_ns = int(float(plan.get("timeout", 10.0)) * 1e9)
        self.requests = [_build(r, self.host, self.port) for r in plan["requests"]]
        self.watch: list[int] = [int(p) for p in plan.get("watch_pids", [])]
        self.stats = Stats()
        self.connected = 0
        self.go: asyncio.Future[None] = loop.create_future()
        self.conns: list[Conn] = []
        self.pending: set[asyncio.Task[None]] = set()
        self.cpu: dict[str, float] = {}
        self.per_pid: dict[str, dict[int, float]] = {}
        self.split: dict[int, int] = {}

    async def connect(self, conn: Conn) -> None:
        await self.loop.create_connection(lambda: conn, self.host, self.port)

    def reconnect(self, old: Conn) -> None:
        """Replace a broken connection by a new one at the same place in the request cycle."""
        if time.monotonic_ns() >= self.stats.window_end:
            if not old.done.done():
                old.done.set_result(None)
            return
        old.replaced = True
        new = Conn(self, old.i)
        new.due = old.due
        new.done = old.done
        idx = self.conns.index(old)
        self.conns[idx] = new

        async def again() -> None:
            try:
                await self.connect(new)
            except OSError:
                self.stats.connection_errors += 1
                await asyncio.sleep(0.05)
                self.reconnect(new)
                return
            new.start()

        task = self.loop.create_task(again())
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    def watchdog(self) -> None:
        now = time.monotonic_ns()
        for c in self.conns:
            if c.sent and now - c.sent > self.timeout_ns:
                c.sent = 0
                self.stats.timeouts += 1
                self.reconnect(c)  # marks c replaced: its connection_lost does nothing
                if c.transport is not None:
                    c.transport.abort()
        if now < self.stats.window_end + self.timeout_ns:
            self.loop.call_later(0.25, self.watchdog)

    def sample(self, name: str) -> None:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        self.cpu[name + "_self"] = ru.ru_utime + ru.ru_stime
        pids = _with_children(self.watch)
        per_pid = {p: _proc_cpu(p) for p in pids}
        self.per_pid[name] = per_pid
        self.cpu[name + "_watched"] = sum(per_pid.values())
        self.cpu[name + "_wall"] = time.monotonic()
        if name == "start":
            self.split = _connections_by_pid(pids, self.port)

    async def main(self) -> dict[str, Any]:
        self.conns = [Conn(self, i * 7919) for i in range(self.n)]
        # connect in waves so the listen backlog is never the bottleneck
        for i in range(0, self.n, 50):
            await asyncio.gather(*(self.connect(c) for c in self.conns[i : i + 50]))
        await asyncio.wait_for(self.go, 30)
        t0 = time.monotonic_ns()
        st = self.stats
        st.window_start = t0 + int(self.warmup * 1e9)
        st.window_end = st.window_start + int(self.seconds * 1e9)
        self.loop.call_later(self.warmup, self.sample, "start")
        self.loop.call_later(self.warmup + self.seconds, self.sample, "end")
        self.loop.call_later(0.25, self.watchdog)
        for k, c in enumerate(self.conns):  # open loop: spread the connections' phases
            c.due = t0 + self.interval_ns * k // self.n
            c.start()
        await asyncio.gather(*(c.done for c in self.conns))
        while self.pending:
            await asyncio.gather(*self.pending, return_exceptions=True)
        return self.report()

    def report(self) -> dict[str, Any]:
        st = self.stats
        lat = sorted(st.latencies)
        n = len(lat)

        def pct(q: float) -> float:
            return lat[min(n - 1, int(q * n))] / 1e6 if n else float("nan")

        wall = self.cpu.get("end_wall", 0.0) - self.cpu.get("start_wall", 0.0)
        self_cpu = self.cpu.get("end_self", 0.0) - self.cpu.get("start_self", 0.0)
        watched = self.cpu.get("end_watched", 0.0) - self.cpu.get("start_watched", 0.0)
        ok = sum(v for k, v in st.status.items() if 200 <= k < 300)
        non2xx = {str(k): v for k, v in st.status.items() if not 200 <= k < 300}
        return {
            "connections": self.n,
            "seconds": self.seconds,
            "offered_rate": self.n * 1e9 / self.interval_ns if self.interval_ns else None,
            "warmup": self.warmup,
            "responses": n,
            "ok": ok,
            "decisions": st.decisions,
            "requests_per_s": n / self.seconds,
            "decisions_per_s": st.decisions / self.seconds,
            "latency_ms": {
                "p50": pct(0.50),
                "p90": pct(0.90),
                "p99": pct(0.99),
                "p999": pct(0.999),
                "max": lat[-1] / 1e6 if n else float("nan"),
                "mean": sum(lat) / n / 1e6 if n else float("nan"),
            },
            "errors": {
                "non_2xx": non2xx,
                "connection": st.connection_errors,
                "protocol": st.protocol_errors,
                "timeouts": st.timeouts,
                "wrong_answers": st.wrong_answers,
            },
            "error_count": sum(non2xx.values())
            + st.connection_errors
            + st.protocol_errors
            + st.timeouts
            + st.wrong_answers,
            "allowed": st.allowed,
            "denied": st.denied,
            "warmup_responses": st.warmup_done,
            "cpu": {
                "wall_s": wall,
                "generator_cpu_s": self_cpu,
                "generator_cores": self_cpu / wall if wall else float("nan"),
                "server_cpu_s": watched,
                "server_cores": watched / wall if wall else float("nan"),
            },
            "loop": type(self.loop).__module__.split(".")[0],
            # per server process (pid): the connections it held when the window started and
            # its CPU seconds over the window (how evenly the workers share the load)
            "processes": [
                {
                    "pid": pid,
                    "connections": self.split.get(pid, 0),
                    "cpu_s": end - self.per_pid.get("start", {}).get(pid, 0.0),
                }
                for pid, end in sorted(self.per_pid.get("end", {}).items())
            ],
        }


def _with_children(pids: list[int]) -> list[int]:
    """``pids`` and all their descendants (uvicorn's worker processes), from /proc."""
    parent: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        ppid = int(text[text.rfind(")") + 2 :].split()[1])
        parent.setdefault(ppid, []).append(int(stat.parent.name))
    out: list[int] = []
    todo = list(pids)
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(parent.get(pid, ()))
    return out


def _connections_by_pid(pids: list[int], port: int) -> dict[int, int]:
    """How many established TCP connections on local ``port`` each of ``pids`` holds (from
    /proc: the socket inodes of /proc/net/tcp{,6} matched against each process's fds)."""
    inodes: set[str] = set()
    hexport = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) > 9 and f[1].endswith(hexport) and f[3] == "01":  # 01: ESTABLISHED
                inodes.add(f[9])
    out: dict[int, int] = {}
    for pid in pids:
        n = 0
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = str(fd.readlink())
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                n += 1
        out[pid] = n
    return out


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (all its threads), 0 if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLK


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: http_load.py PLAN.json", file=sys.stderr)
        return 2
    plan = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    try:
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        result = loop.run_until_complete(Run(plan, loop).main())
    finally:
        loop.close()
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
