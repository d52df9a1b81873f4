"""http_bench: policy decisions over HTTP (uvicorn on loopback) beside the in-process rate.

One command: ``.venv/bin/python bench/http_bench.py [--seconds 30] [--connections 200]``
(``--quick``: 5 s, 50 connections; a run below 30 s or 200 connections is a smoke run and only
prints its table unless ``--write``). In a fresh temporary data directory it creates API keys with
the CLI (``dataward keys create --role ROLE``, one per role of the mix), starts
``dataward serve --port 0 --port-file F --workers W`` for each W of ``--workers`` (default 1 and
2), and loads it from a SECOND process (``bench/http_load.py``: keep-alive HTTP/1.1 connections
on uvloop, one request in flight each) for a bounded time after a warm-up: ``POST /v1/decide``
with a seeded request mix drawn like that of ``bench/policy_bench.py`` (allowed and denied; the
role is the key's), then ``POST /v1/decide/batch`` with batches of ``--batch-size``. Every
answer is checked against the in-process ``Policy.decide`` of the same request (``wrong
answers``). The per-key rate limit is raised for the run
(``DATAWARD_SERVICE_RATE_LIMIT_PER_SECOND`` / ``_BURST``).
The table goes between the ``http_bench`` markers of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from dataward.policy import Policy, load_policy
from decision_mix import MixRow, Request, make_requests

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
DATAWARD = Path(sys.executable).with_name("dataward")
TARGET_RATE, TARGET_P99_MS = 3000.0, 50.0
START_TIMEOUT = 300.0
OPEN, BATCH = "/v1/decide (open loop)", "/v1/decide/batch"

# (weight, actions, classes, role, purpose): which application asks what, and why. The role is
# the API key's; the unknown role of bench/policy_bench.py's mix has no key, so it is left out.
MIX: list[MixRow] = [
    (30, ("use",), ("low", "medium"), "service", "contract"),
    (12, ("store", "create"), ("low", "medium"), "service", "contract"),
    (12, ("use",), ("low", "medium"), "support", "support"),
    (8, ("use", "store"), ("low",), "billing", "billing"),
    (4, ("use", "store"), ("low", "medium"), "sales", "sales"),
    (5, ("use",), ("medium",), "service", "security"),
    (6, ("use", "store", "create"), ("high",), "authentication", "authentication"),
    (4, ("share",), ("special", "low"), "billing", "billing"),
    (3, ("create", "store", "use"), ("special",), "billing", "billing"),
    (3, ("archive", "destroy"), ("low", "medium", "high"), "service", "legal"),
    (2, ("use", "destroy", "store"), ("low", "medium"), "dpm", "data_subject_request"),
    (3, ("use", "store", "share"), ("low", "high", "special"), "support", "sales"),
    (2, ("create", "store", "use", "share"), ("forbidden",), "support", "support"),
    (1, ("share",), ("low", "medium"), "sales", "sales"),
    (1, ("use", "share"), ("low",), "service", "marketing"),
]


def in_process_rate(policy: Policy, reqs: Sequence[Request], repeat: int = 3) -> float:
    """Best-of-``repeat`` decisions/s of ``Policy.decide`` on ``reqs`` (one core)."""
    decide = policy.decide
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for a, c, r, p, x in reqs:
            decide(action=a, category=c, role=r, purpose=p, recipient=x)
        best = min(best, time.perf_counter() - t0)
    return len(reqs) / best


# --- setup ---------------------------------------------------------------------------------------
def bench_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATAWARD_HOME=str(home),
        DATAWARD_SERVICE_RATE_LIMIT_PER_SECOND="1000000",
        DATAWARD_SERVICE_RATE_LIMIT_BURST="1000000",
        DATAWARD_SERVICE_PROCESSOR="false",  # the decision point needs no card processor
    )
    env.pop("DATAWARD_DATABASE_URL", None)
    return env


def create_key(role: str, env: dict[str, str]) -> str:
    out = subprocess.run(
        [str(DATAWARD), "keys", "create", "--role", role, "--name", f"http-bench-{role}"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"`dataward keys create --role {role}` failed:\n{out.stderr[-2000:]}")
    return out.stdout.strip().splitlines()[-1].strip()


def decide_body(req: Request) -> dict[str, str]:
    action, category, _role, purpose, recipient = req
    body = {"action": action, "category": category, "purpose": purpose}
    if recipient is not None:
        body["recipient"] = recipient
    return body


def plan_requests(
    reqs: Sequence[Request], keys: dict[str, str], expect: Sequence[bool], batch: int
) -> list[dict[str, Any]]:
    """The generator's requests: one decision each, or ``batch`` decisions of one role each."""
    if batch <= 1:
        return [
            {
                "path": "/v1/decide",
                "key": keys[r[2]],
                "body": json.dumps(decide_body(r), separators=(",", ":")),
                "expect": int(e),
            }
            for r, e in zip(reqs, expect, strict=True)
        ]
    by_role: dict[str, list[tuple[Request, bool]]] = {}
    for r, e in zip(reqs, expect, strict=True):
        by_role.setdefault(r[2], []).append((r, e))
    out: list[dict[str, Any]] = []
    for role, items in by_role.items():
        for i in range(0, len(items) - batch + 1, batch):
            chunk = items[i : i + batch]
            body = {"requests": [decide_body(r) for r, _ in chunk]}
            out.append(
                {
                    "path": "/v1/decide/batch",
                    "key": keys[role],
                    "body": json.dumps(body, separators=(",", ":")),
                    "expect": sum(e for _, e in chunk),
                    "decisions": len(chunk),
                }
            )
    random.Random(len(out)).shuffle(out)  # interleave the roles
    return out


class Server:
    """``dataward serve --port 0 --port-file F --workers W`` in its own process group."""

    def __init__(self, home: Path, env: dict[str, str], workers: int) -> None:
        self.home, self.env, self.workers = home, env, workers
        self.port_file = home / f"port-{workers}"
        self.log = home / f"serve-{workers}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def __enter__(self) -> Server:
        self.port_file.unlink(missing_ok=True)
        cmd = [str(DATAWARD), "serve", "--port", "0", "--port-file", str(self.port_file)]
        cmd += ["--workers", str(self.workers)]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not self.port_file.exists():
            self._alive_or_fail(deadline)
            time.sleep(0.2)
        self.port = int(self.port_file.read_text(encoding="ascii"))
        # every worker must have started its app before the connections are spread over them
        while self.log.read_text(errors="replace").count("Application startup complete") < (
            self.workers
        ):
            self._alive_or_fail(deadline)
            time.sleep(0.2)
        while _get(f"http://127.0.0.1:{self.port}/healthz") != 200:
            self._alive_or_fail(deadline)
            time.sleep(0.2)
        return self

    def _alive_or_fail(self, deadline: float) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None or time.monotonic() > deadline:
            self.__exit__()
            tail = self.log.read_text(errors="replace")[-3000:]
            raise SystemExit(f"`dataward serve --workers {self.workers}` did not start:\n{tail}")

    def __exit__(self, *_exc: object) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback http
            return int(resp.status)
    except OSError:
        return 0


def run_load(
    server: Server,
    requests: list[dict[str, Any]],
    args: argparse.Namespace,
    connections: int,
    rate: float = 0.0,
) -> dict[str, Any]:
    assert server.proc is not None
    plan = {
        "host": "127.0.0.1",
        "port": server.port,
        "connections": connections,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "timeout": args.timeout,
        "watch_pids": [server.proc.pid],
        "rate": rate,
        "requests": requests,
    }
    path = server.home / "plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, str(HERE / "http_load.py"), str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=args.seconds + args.warmup + args.timeout + 120,
    )
    if out.returncode != 0:
        raise SystemExit(f"http_load.py failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout)
    return result


# --- report --------------------------------------------------------------------------------------
def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _ms_per_request(r: dict[str, Any]) -> float:
    """Server CPU milliseconds per answered request (all workers and threads)."""
    return 1000 * r["cpu"]["server_cpu_s"] / max(r["responses"], 1)


def _split(r: dict[str, Any]) -> str:
    """Connections and CPU seconds per server process (those holding connections)."""
    procs = [p for p in r.get("processes", ()) if p["connections"] or p["cpu_s"] > 0.05]
    return "per process (connections, CPU s): " + ", ".join(
        f"{p['connections']} / {p['cpu_s']:.2f}" for p in procs
    )


def _row(name: str, workers: int, r: dict[str, Any], in_process: float) -> str:
    lat, cpu = r["latency_ms"], r["cpu"]
    errs = r["error_count"]
    return (
        f"| {name} | {workers} | {r['connections']} | {r['decisions_per_s']:,.0f} | "
        f"{r['requests_per_s']:,.0f} | {lat['p50']:.1f} | {lat['p90']:.1f} | {lat['p99']:.1f} | "
        f"{lat['max']:.1f} | {errs} | {cpu['server_cores']:.2f} | {_ms_per_request(r):.3f} | "
        f"{cpu['generator_cores']:.2f} | {r['decisions_per_s'] / in_process:.4f} |"
    )


def label_of(name: str, r: dict[str, Any], args: argparse.Namespace) -> str:
    if name == OPEN:
        return f"/v1/decide, {r['offered_rate']:,.0f}/s offered (open loop)"
    if name == BATCH:
        return f"{name} ({args.batch_size}/call)"
    return name


def report(
    args: argparse.Namespace,
    results: list[tuple[str, int, dict[str, Any]]],
    in_process: float,
    distinct: int,
    allowed: int,
    load: tuple[str, str],
    roles: Sequence[str],
) -> str:
    singles = [(w, r) for n, w, r in results if n == "/v1/decide"]
    best_w, best = max(singles, key=lambda wr: wr[1]["decisions_per_s"])
    lat = best["latency_ms"]
    no_errors = all(r["error_count"] == 0 for _, _, r in results)
    opens = [(w, r) for n, w, r in results if n == OPEN]
    kept = [(w, r) for w, r in opens if r["decisions_per_s"] >= 0.99 * r["offered_rate"]]
    headline = (
        f"**Closed loop (each of the {args.connections} connections sends its next request as "
        f"soon as the answer comes): best {best['decisions_per_s']:,.0f} decisions/s with "
        f"{best_w} worker(s), p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms.** With every "
        "connection always waiting, the mean latency is connections / throughput "
        f"({args.connections} / {best['decisions_per_s']:,.0f} = "
        f"{1000 * args.connections / max(best['decisions_per_s'], 1):.1f} ms): this row shows "
        "the capacity, not the latency at a given load. During it the server used "
        f"{best['cpu']['server_cores']:.2f} of the {os.cpu_count()} cores and the generator "
        f"{best['cpu']['generator_cores']:.2f}."
    )
    met = False
    if opens:
        ow, o = min(kept or opens, key=lambda wr: wr[1]["latency_ms"]["p99"])
        met = bool(kept) and o["offered_rate"] >= TARGET_RATE
        met = met and o["latency_ms"]["p99"] < TARGET_P99_MS and no_errors
        headline += (
            f" **Open loop ({o['offered_rate']:,.0f} requests/s offered over the "
            f"{o['connections']} connections): {o['decisions_per_s']:,.0f} decisions/s answered "
            f"with {ow} worker(s), p50 {o['latency_ms']['p50']:.1f} ms, p99 "
            f"{o['latency_ms']['p99']:.1f} ms** (latency from each request's scheduled time)."
        )
    headline += (
        f" Target >= {TARGET_RATE:,.0f} decisions/s with p99 < {TARGET_P99_MS:.0f} ms at "
        f"{args.connections} connections, zero errors: **{'met' if met else 'NOT met'}**"
        f"{'' if no_errors else ' (errors: see the table)'}."
    )
    flags = f" --seconds {args.seconds:g} --connections {args.connections}"
    if args.workers != "1,2":
        flags += f" --workers {args.workers}"
    lines = [
        f"Command: `.venv/bin/python bench/http_bench.py{flags}` (seed {args.seed}; warm-up "
        f"{args.warmup:g} s, then {args.seconds:g} s measured per row).",
        "",
        f"Machine: {os.cpu_count()} cores ({_cpu_model()}), Python {platform.python_version()}, "
        f"uvicorn {_version('uvicorn')}, fastapi {_version('fastapi')}, starlette "
        f"{_version('starlette')}, pydantic {_version('pydantic')}, uvloop {_version('uvloop')}, "
        f"httptools {_version('httptools')}; load average before {load[0]}, after {load[1]} "
        "(the server, the load generator and anything else running share the cores).",
        "",
        headline,
        "",
        "| endpoint | workers | connections | decisions/s | requests/s | p50 ms | p90 ms | "
        "p99 ms | max ms | errors | server CPU (cores) | server CPU ms / request | "
        "generator CPU (cores) | HTTP / in-process |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, w, r in results:
        lines.append(_row(label_of(name, r, args), w, r, in_process))
    lines.append(
        f"| in-process `Policy.decide` (one core) | - | - | {in_process:,.0f} | "
        + "- | " * 9
        + "1.0000 |"
    )
    spread = [
        f"{label_of(name, r, args)} with {w} workers: {_split(r).split(': ', 1)[1]}"
        for name, w, r in results
        if w > 1
    ]
    if spread:
        lines += [
            "",
            "Per worker process (connections held when the window opened / CPU seconds in it): "
            + "; ".join(spread)
            + ".",
        ]
    lines += [
        "",
        "Mix: seeded requests drawn like those of `bench/policy_bench.py` (plus an undeclared "
        f"purpose; roles {', '.join(roles)}; one API key per role, created with "
        f"`dataward keys create --role ROLE`): {distinct} "
        f"distinct requests, {allowed} of them allowed; use/store/share/archive/destroy of "
        "low, medium, high, special and forbidden categories for various purposes and "
        "recipients. Every answer is checked against in-process `Policy.decide` (errors count "
        "non-2xx answers, connection errors, timeouts and wrong answers). Load: "
        "`bench/http_load.py`, a separate process (uvloop, `asyncio.Protocol`, keep-alive "
        "HTTP/1.1, one request in flight per connection); latency from the write of a request "
        "(open loop: from its scheduled time) to the last byte of its answer; only answers "
        "completed in the measured window count. CPU "
        "columns: CPU seconds / wall seconds over that window (`dataward serve` and its workers; "
        "the generator). Server defaults otherwise (SQLite data directory, every decision audited "
        "by group commit, access log on, written to a file).",
    ]
    return "\n".join(lines)


def write_section(table: str) -> None:
    md = ROOT / "BENCHMARKS.md"
    text = md.read_text(encoding="utf-8")
    start, end = "<!-- http_bench:start -->", "<!-- http_bench:end -->"
    section = f"{start}\n## http_bench\n\n{table}\n{end}"
    if start in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        md.write_text(f"{head}{section}{tail}", encoding="utf-8")
    else:
        md.write_text(text.rstrip("\n") + f"\n\n{section}\n", encoding="utf-8")


def _loadavg() -> str:
    try:
        return ", ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


# --- main ----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--seconds", type=float, default=30.0, help="measured seconds per row")
    ap.add_argument("--connections", type=int, default=200)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds of load before measuring")
    ap.add_argument("--timeout", type=float, default=10.0, help="per-request timeout, seconds")
    ap.add_argument(
        "--rate",
        type=float,
        default=TARGET_RATE,
        help="offered decisions/s of the open-loop row (0: no such row)",
    )
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--batch-connections", type=int, default=20, help="batch-row connections")
    ap.add_argument("--no-batch", action="store_true", help="skip the /v1/decide/batch rows")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="5 s, 50 connections")
    ap.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    ap.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    ap.add_argument(
        "--write",
        action="store_true",
        help="update BENCHMARKS.md even for a run shorter or lighter than the target's "
        "(30 s, 200 connections); such runs only print their table otherwise",
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.seconds, args.connections = min(args.seconds, 5.0), min(args.connections, 50)
    workers = [int(w) for w in args.workers.split(",") if w.strip()]

    policy = load_policy()
    roles = sorted({m[3] for m in MIX if m[3] in policy.roles})
    reqs = [q for q in make_requests(policy, 200_000, args.seed, MIX) if q[2] in roles]
    expect = [
        policy.decide(action=a, category=c, role=r, purpose=p, recipient=x).allowed
        for a, c, r, p, x in reqs
    ]
    in_process = in_process_rate(policy, reqs)
    distinct = set(reqs)
    allowed = sum(
        policy.decide(action=a, category=c, role=r, purpose=p, recipient=x).allowed
        for a, c, r, p, x in distinct
    )
    print(f"in-process Policy.decide: {in_process:,.0f} decisions/s on {len(reqs):,} requests")

    home = Path(tempfile.mkdtemp(prefix="dataward-http-bench-"))
    load_before = _loadavg()
    results: list[tuple[str, int, dict[str, Any]]] = []
    try:
        env = bench_env(home)
        t0 = time.monotonic()
        keys = {role: create_key(role, env) for role in roles}
        print(f"created {len(keys)} API keys in {time.monotonic() - t0:.1f} s")
        singles = plan_requests(reqs[:20_000], keys, expect[:20_000], 1)
        batches = plan_requests(reqs[:100_000], keys, expect[:100_000], args.batch_size)
        for w in workers:
            with Server(home, env, w) as server:
                print(f"serve --workers {w}: port {server.port}")
                rows = [
                    ("/v1/decide", singles, args.connections, 0.0),
                    (OPEN, singles, args.connections, args.rate),
                    ("/v1/decide/batch", batches, min(args.batch_connections, args.connections), 0),
                ]
                for name, plan, conns, offered in rows:
                    if (name == OPEN and not offered) or (BATCH in name and args.no_batch):
                        continue
                    r = run_load(server, plan, args, conns, offered)
                    results.append((name, w, r))
                    lat = r["latency_ms"]
                    print(
                        f"  {name:18s} {r['decisions_per_s']:>10,.0f} decisions/s  "
                        f"p50 {lat['p50']:.1f} p99 {lat['p99']:.1f} max {lat['max']:.1f} ms  "
                        f"errors {r['error_count']} {r['errors']}  server "
                        f"{r['cpu']['server_cores']:.2f} cores, generator "
                        f"{r['cpu']['generator_cores']:.2f} cores, "
                        f"{_ms_per_request(r):.3f} server CPU ms/request",
                        flush=True,
                    )
                    print(f"    {_split(r)}", flush=True)
    finally:
        if args.keep:
            print(f"data directory kept: {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    table = report(
        args, results, in_process, len(distinct), allowed, (load_before, _loadavg()), roles
    )
    print(table)
    full = args.seconds >= 30 and args.connections >= 200
    if not args.no_write and (full or args.write):
        write_section(table)
    elif not args.no_write:
        print("(a smoke run: BENCHMARKS.md left as it is; --write to record it)")
    return 0 if all(r["error_count"] == 0 for _, _, r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
