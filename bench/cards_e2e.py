"""Cards end to end: register + charge N cards through the reference processor over TLS, with
DEBUG logging on, then scan every byte dataward wrote for card numbers and CVVs.

Side by side in the same run: the same N tokenize + charge calls made straight to the processor
(``HttpCardProcessor`` alone, no validation, policy, vault or audit), to show what governance
costs per card.

    .venv/bin/python bench/cards_e2e.py            # N = 1000
    .venv/bin/python bench/cards_e2e.py --quick    # N = 100

Writes its table between ``<!-- cards_e2e:start -->`` and ``<!-- cards_e2e:end -->`` in
BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import logging
import random
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="100 cards instead of 1000")
    ap.add_argument("-n", type=int, default=None)
    ap.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
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
        from dataward.audit.export import export_log

        export_log(vault.audit, home / "audit-export")  # type: ignore[arg-type]
        handler.flush()
        t0 = time.perf_counter()
        hits = scan(vault.detector, home)
        t_scan = time.perf_counter() - t0
        blob = b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())
        exact = sum(1 for pan, _ in data if pan.encode() in blob)
        size = len(blob)
        http.close()
        vault.close()
    finally:
        logging.getLogger().removeHandler(handler)
        proc.terminate()
        proc.wait(timeout=10)
    cmd = "`.venv/bin/python bench/cards_e2e.py" + (" --quick`" if args.quick else "`")
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
            "",
            f"Vault open (incl. detector compile): {t_open:.1f} s. Scan of every byte written "
            f"({size / 1e6:.1f} MB: SQLite + WAL, key ring, DEBUG log, audit export): "
            f"{t_scan:.1f} s, **{hits} card.pan/card.cvv findings**, {exact} exact PAN matches.",
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
    return 0 if hits == 0 and exact == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
