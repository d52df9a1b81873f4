"""Cards end to end: register + charge N cards through the reference processor over TLS, with
DEBUG logging on, then scan every byte dataward wrote for card numbers and CVVs.

Side by side in the same run: the same N tokenize + charge calls made straight to the processor
(``HttpCardProcessor`` alone, no validation, policy, vault or audit), to show what governance
costs per card; and (``--http``, on by default) N more cards registered and charged over HTTP
through a real ``dataward serve`` at DEBUG level, whose stderr (DEBUG log and the
``dataward.access`` access log) is written into its data directory. Its data directory is scanned
twice: a copy taken while it serves (SQLite WAL included), then after it stopped and the audit
log was exported with ``dataward audit export``.

    .venv/bin/python bench/cards_e2e.py            # N = 1000
    .venv/bin/python bench/cards_e2e.py --quick    # N = 100
    .venv/bin/python bench/cards_e2e.py --no-http  # the library rows only

Writes its table between ``<!-- cards_e2e:start -->`` and ``<!-- cards_e2e:end -->`` in
BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import trustme

from dataward.cards import (
    CardIntake,
    HttpCardProcessor,
    TokenKey,
    new_idempotency_key,
    spki_pin,
    validate_card,
)
from dataward.settings import load_settings
from dataward.vault import Actor, Vault
from dataward.vault.model import FindingSource

ROOT = Path(__file__).resolve().parent.parent
DATAWARD = str(Path(sys.executable).with_name("dataward"))
MARK = "cards_e2e"
PREFIXES = [("4", 16), ("51", 16), ("2221", 16), ("37", 15), ("6011", 16), ("3528", 16)]


def luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def cards(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        prefix, length = PREFIXES[i % len(PREFIXES)]
        pan = luhn_complete(
            prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
        )
        out.append(
            (pan, "".join(str(rng.randrange(10)) for _ in range(4 if prefix == "37" else 3)))
        )
    return out


def start_processor(d: Path) -> tuple[subprocess.Popen[bytes], str, str, Path, str]:
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    leaf.cert_chain_pems[0].write_to_path(str(d / "cert.pem"))
    leaf.private_key_pem.write_to_path(str(d / "key.pem"))
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    api_key = secrets.token_urlsafe(32)
    (d / "api.key").write_text(api_key)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dataward.processor_service", "--port=0",
         f"--port-file={d / 'port'}", f"--certfile={d / 'cert.pem'}",
         f"--keyfile={d / 'key.pem'}", f"--api-key-file={d / 'api.key'}",
         f"--store={d / 'processor.db'}"],
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (d / "port").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the reference processor did not start")
        time.sleep(0.05)
    url = f"https://127.0.0.1:{(d / 'port').read_text()}"
    return proc, url, api_key, d / "ca.pem", spki_pin(leaf.cert_chain_pems[0].bytes())


def scan(detector: FindingSource, root: Path) -> int:
    """card.pan / card.cvv findings in every file under ``root`` (non-printable bytes -> newline,
    so SQLite pages and the WAL are read as text, offsets kept)."""
    printable = bytes(range(0x20, 0x7F)) + b"\t\n"
    table = bytes(b if b in printable else 0x0A for b in range(256))
    hits = 0
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        data = f.read_bytes()
        for start in range(0, max(len(data), 1), (1 << 20) - 256):
            text = data[start : start + (1 << 20)].translate(table).decode("ascii")
            found = detector.detect(text)
            hits += len([h for h in found if h.category in ("card.pan", "card.cvv")])
    return hits


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cli(home: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [DATAWARD, "--home", str(home), *args], env=env, capture_output=True, text=True,
        timeout=180, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"dataward {args[0]} failed: {done.stderr}")
    return done.stdout


@dataclass
class HttpRun:
    seconds: float  # wall, all N register + charge
    server_cpu: float  # CPU seconds the dataward serve process spent on them
    home: Path  # its data directory, after the stop and the audit export
    live: Path  # a copy of the data directory taken while it served (WAL included)
    access_lines: int


def run_http(
    work: Path, data: list[tuple[str, str]], url: str, api_key_file: Path, ca: Path, pin: str,
    concurrency: int,
) -> HttpRun:  # fmt: skip
    """``dataward serve`` at DEBUG level against the processor; N register + charge over HTTP."""
    home = work / "http-home"
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("DATAWARD_SERVICE_", "DATAWARD_PROCESSOR_", "DATAWARD_VAULT_"))
        and k not in ("DATAWARD_HOME", "DATAWARD_DATABASE_URL", "DATAWARD_POLICY")
    }  # fmt: skip
    env.update(
        DATAWARD_SERVICE_LOG_LEVEL="debug",
        DATAWARD_SERVICE_ACCESS_LOG="true",
        DATAWARD_PROCESSOR_URL=url,
        DATAWARD_PROCESSOR_API_KEY_FILE=str(api_key_file),
        DATAWARD_PROCESSOR_CA_BUNDLE=str(ca),
        DATAWARD_PROCESSOR_PINS=pin,
    )
    key = _cli(home, env, "keys", "create", "--role", "billing").splitlines()[-1]
    (home / "logs").mkdir()
    log, port_file = home / "logs" / "service.log", work / "http.port"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [DATAWARD, "--home", str(home), "serve", "--port", "0", "--port-file", str(port_file)],
            env=env, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not port_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("dataward serve did not start: " + log.read_text())
            time.sleep(0.05)
        auth = {"Authorization": f"Bearer {key}"}
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        base = f"http://127.0.0.1:{port_file.read_text()}"
        with httpx.Client(base_url=base, timeout=60, limits=limits) as client:

            def one(item: tuple[int, tuple[str, str]]) -> None:
                i, (pan, cvv) = item
                shown = " ".join(pan[j : j + 4] for j in range(0, len(pan), 4)) if i % 2 else pan
                card = {"subject_id": f"cust-h{i}", "pan": shown, "cvv": cvv,
                        "expiry": "09/2031", "holder": "Ada Lovelace"}  # fmt: skip
                made = client.post("/v1/cards", json=card, headers=auth)
                if made.status_code != 201:
                    raise SystemExit(f"register over HTTP: {made.status_code} {made.text}")
                charge = {"subject_id": f"cust-h{i}", "amount": 1000, "currency": "CHF"}
                paid = client.post(
                    f"/v1/cards/{made.json()['card_ref']}/charges", json=charge, headers=auth
                )
                if paid.status_code != 201 or not paid.json()["approved"]:
                    raise SystemExit(f"charge over HTTP: {paid.status_code} {paid.text}")

            client.get("/healthz")  # connection and first-request costs out of the timing
            cpu0, t0 = _cpu_seconds(proc.pid), time.perf_counter()
            with ThreadPoolExecutor(concurrency) as pool:
                list(pool.map(one, enumerate(data)))
            seconds, server_cpu = time.perf_counter() - t0, _cpu_seconds(proc.pid) - cpu0
        live = work / "http-live"
        shutil.copytree(home, live)  # as it is while serving: the SQLite WAL is there
        if not (live / "dataward.db-wal").is_file():
            raise SystemExit("no SQLite WAL in the data directory while serving")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    _cli(home, env, "audit", "export", str(home / "audit-export"))
    access = log.read_text(errors="replace").count(" dataward.access ")
    return HttpRun(seconds, server_cpu, home, live, access)


def exact_pans(roots: list[Path], pans: list[str]) -> int:
    """PANs found byte for byte (plain or spaced in fours) in any file under ``roots``."""
    blob = b"\n".join(p.read_bytes() for r in roots for p in sorted(r.rglob("*")) if p.is_file())
    forms = [(pan, " ".join(pan[j : j + 4] for j in range(0, len(pan), 4))) for pan in pans]
    return sum(1 for f in forms if f[0].encode() in blob or f[1].encode() in blob)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="100 cards instead of 1000")
    ap.add_argument("-n", type=int, default=None)
    ap.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    ap.add_argument(
        "--http",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also register + charge N cards over HTTP through `dataward serve` (default on)",
    )
    ap.add_argument("--concurrency", type=int, default=1, help="HTTP requests in flight")
    args = ap.parse_args()
    n = args.n or (100 if args.quick else 1000)
    work = Path(tempfile.mkdtemp(prefix="dataward-cards-bench-"))
    (work / "proc").mkdir()
    proc, url, api_key, ca_path, pin = start_processor(work / "proc")
    home = work / "home"
    home.mkdir()
    (home / "logs").mkdir()
    handler = logging.FileHandler(home / "logs" / "debug.log")
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.DEBUG)
    try:
        actor = Actor("bench", "billing")
        t0 = time.perf_counter()
        vault = Vault.open(load_settings(home=home), environ={})
        t_open = time.perf_counter() - t0
        http = HttpCardProcessor(url, api_key, ca_bundle=ca_path, pins=[pin])
        intake = CardIntake(vault, http, token_key=TokenKey.generate())
        data = cards(n, 1)
        t0 = time.perf_counter()
        for i, (pan, cvv) in enumerate(data):
            ref = intake.register(f"cust-{i}", pan, cvv, "09/2031", "Ada Lovelace", actor=actor)
            if not intake.charge(f"cust-{i}", ref, 1000, "CHF", actor=actor).approved:
                raise SystemExit("a charge was declined")
        t_intake = time.perf_counter() - t0
        peer = cards(n, 2)
        t0 = time.perf_counter()
        for pan, cvv in peer:
            c = validate_card(pan, cvv, "09/2031", "Ada Lovelace")
            tok = http.tokenize(
                c.number, c.cvv, c.expiry, c.holder, idempotency_key=new_idempotency_key()
            )
            http.charge(tok, 1000, "CHF", idempotency_key=new_idempotency_key())
        t_raw = time.perf_counter() - t0
        run, http_hits, http_exact, http_size, t_http_scan = None, 0, 0, 0, 0.0
        if args.http:
            run = run_http(
                work, cards(n, 3), url, work / "proc" / "api.key", ca_path, pin, args.concurrency
            )
        from dataward.audit.export import export_log

        export_log(vault.audit, home / "audit-export")  # type: ignore[arg-type]
        handler.flush()
        t0 = time.perf_counter()
        hits = scan(vault.detector, home)
        t_scan = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in home.rglob("*") if p.is_file())
        exact = exact_pans([home], [pan for pan, _ in data])
        if run is not None:
            t0 = time.perf_counter()
            http_hits = scan(vault.detector, run.home) + scan(vault.detector, run.live)
            t_http_scan = time.perf_counter() - t0
            roots = [run.home, run.live]
            http_size = sum(p.stat().st_size for r in roots for p in r.rglob("*") if p.is_file())
            http_exact = exact_pans(roots, [pan for pan, _ in cards(n, 3)])
        http.close()
        vault.close()
    finally:
        logging.getLogger().removeHandler(handler)
        proc.terminate()
        proc.wait(timeout=10)
    flags = (" --quick" if args.quick else "") + ("" if args.http else " --no-http")
    cmd = f"`.venv/bin/python bench/cards_e2e.py{flags}`"
    http_rows: list[str] = []
    http_notes: list[str] = []
    if run is not None:
        http_rows = [
            f"| dataward HTTP register + charge (`dataward serve`, {args.concurrency} keep-alive "
            f"client{'s' if args.concurrency > 1 else ''}) | {run.seconds:.2f} | "
            f"{1000 * run.seconds / n:.1f} | {run.seconds / t_raw:.2f}x |"
        ]
        http_notes = [
            "",
            f"HTTP path: the server process used {run.server_cpu:.1f} CPU s "
            f"({1000 * run.server_cpu / n:.1f} ms per card, 2 requests each); "
            f"{run.access_lines} access-log lines. Scan of its data directory while serving "
            f"(SQLite + WAL, key ring + WAL, DEBUG + access log) and after stop + "
            f"`dataward audit export` ({http_size / 1e6:.1f} MB): {t_http_scan:.1f} s, "
            f"**{http_hits} card.pan/card.cvv findings**, {http_exact} exact PAN matches.",
        ]
    table = "\n".join(
        [
            f"Cards end to end, N = {n}, TLS with pinning, DEBUG logging on. Reproduce: {cmd}",
            "",
            "| what | total s | per card ms | ratio |",
            "|---|---:|---:|---:|",
            f"| dataward CardIntake register + charge | {t_intake:.2f} | {1000 * t_intake / n:.1f}"
            f" | {t_intake / t_raw:.2f}x |",
            f"| peer: HttpCardProcessor tokenize + charge alone | {t_raw:.2f} | "
            f"{1000 * t_raw / n:.1f} | 1.00x |",
            *http_rows,
            "",
            f"Vault open (incl. detector compile): {t_open:.1f} s. Scan of every byte written "
            f"({size / 1e6:.1f} MB: SQLite + WAL, key ring, DEBUG log, audit export): "
            f"{t_scan:.1f} s, **{hits} card.pan/card.cvv findings**, {exact} exact PAN "
            "matches.",
            *http_notes,
        ]
    )
    print(table)
    if not args.no_write:
        bench = ROOT / "BENCHMARKS.md"
        text = bench.read_text() if bench.exists() else "# Benchmarks\n"
        start, end = f"<!-- {MARK}:start -->", f"<!-- {MARK}:end -->"
        block = f"{start}\n{table}\n{end}"
        if start in text and end in text:
            text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        bench.write_text(text)
    return 0 if hits == http_hits == exact == http_exact == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
