"""Throughput of ``dataward.detect`` on log-like text and on prose (MB/s on one core).

Run: ``.venv/bin/python bench/detect_speed.py [--quick]``. The corpora are generated here from a
fixed seed (no Faker needed): access logs, application logs with a few planted identifiers, and
multilingual prose. Each corpus is scanned with the default detector (all recognizers) and with
the pattern recognizers only; the best of a few runs is reported.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable
from pathlib import Path

from dataward.detect import Detector
from dataward.detect.registry import pattern_recognizers

_UAS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
    "Safari/537.36",
    "curl/8.4.0",
    "exoscale-cli/1.75.0 (linux; amd64)",
    "python-requests/2.31.0",
    "Terraform/1.6.3 terraform-provider-exoscale/0.54.0",
)
_PATHS = ("/v2/instance", "/v2/zone", "/v2/sks-cluster", "/api/v1/dbaas/pg", "/portal/billing")
_WORDS = (  # noqa: SIM905 - readable prose split into words
    "the instance was restarted after the maintenance window and the customer confirmed that "
    "everything works again; la facture du mois dernier a été envoyée au service comptable et "
    "le client attend une réponse; die Bestellung wurde storniert, weil die Zahlung nicht "
    "rechtzeitig eingegangen ist; il ticket è stato chiuso dopo la verifica del supporto"
).split()


def access_log(rng: random.Random, n: int) -> str:
    lines = []
    for i in range(n):
        ip = ".".join(str(rng.randint(1, 223 if k == 0 else 254)) for k in range(4))
        lines.append(
            f"{ip} - - [12/Mar/2025:10:{i % 60:02d}:{rng.randint(0, 59):02d} +0000] "
            f'"GET {rng.choice(_PATHS)}?page={rng.randint(1, 50)} HTTP/1.1" '
            f"{rng.choice((200, 200, 200, 404, 500))} {rng.randint(100, 99999)} "
            f'"https://portal.exoscale.com/u/{rng.randint(1000, 9999)}" "{rng.choice(_UAS)}"'
        )
    return "\n".join(lines) + "\n"


def app_log(rng: random.Random, n: int) -> str:
    lines = []
    for i in range(n):
        level = rng.choice(("INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"))
        msg = rng.choice(
            (
                f"request completed in {rng.randint(1, 900)}ms status=200 zone=ch-gva-2",
                f"job {rng.randint(10000, 99999)} finished, {rng.randint(1, 40)} items processed",
                "cache miss for key instance-types, refreshing",
                f"user {rng.randint(1000, 9999)} logged in from portal",
                f"retrying connection to db-{rng.randint(1, 3)} (attempt {rng.randint(1, 5)})",
                "invoice sent to billing@example.com for account 42",  # planted
            )
        )
        lines.append(f"2025-03-12T10:22:{i % 60:02d}.{rng.randint(0, 999):03d}Z {level} svc: {msg}")
    return "\n".join(lines) + "\n"


def prose(rng: random.Random, n_words: int) -> str:
    words = [rng.choice(_WORDS) for _ in range(n_words)]
    for i in range(0, n_words, 400):
        words[i] = "jean.dupont@example.ch"
    return " ".join(words)


def measure(fn: Callable[[str], object], text: str, repeat: int) -> tuple[float, float]:
    """Best MB/s of ``repeat`` runs, by wall clock and by CPU time of this process."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        c0 = time.process_time()
        fn(text)
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - t0)
    size = len(text.encode()) / 1e6
    return size / best_wall, size / max(best_cpu, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller corpora, fewer repeats")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args()
    rng = random.Random(20251129)
    scale = 1 if args.quick else 4
    corpora = {
        "access log": access_log(rng, 5000 * scale),
        "application log": app_log(rng, 8000 * scale),
        "prose (EN/FR/DE/IT)": prose(rng, 60000 * scale),
    }
    full = Detector.default()
    patterns = Detector(pattern_recognizers())
    repeat = 2 if args.quick else 3
    rows = []
    for name, text in corpora.items():
        mb = len(text.encode()) / 1e6
        full_wall, full_cpu = measure(full.detect, text, repeat)
        pat_wall, pat_cpu = measure(patterns.detect, text, repeat)
        n = len(full.detect(text))
        rows.append(
            f"| {name} | {mb:.1f} | {full_cpu:.1f} | {full_wall:.1f} | {pat_cpu:.1f} "
            f"| {pat_wall:.1f} | {n} |"
        )
        print(rows[-1], flush=True)
    table = "\n".join(
        [
            "### dataward.detect throughput (one core)",
            "",
            "Command: `.venv/bin/python bench/detect_speed.py --write`",
            "",
            "Best of a few runs. CPU = CPU time of this (single-threaded) process, the steadier "
            "per-core figure on a shared machine; wall = wall clock. Load average at the end: "
            + ", ".join(f"{x:.1f}" for x in os.getloadavg())
            + f" on {os.cpu_count()} cores.",
            "",
            "| corpus | MB | all recognizers MB/s (CPU) | all (wall) "
            "| pattern recognizers MB/s (CPU) | patterns (wall) | findings |",
            "|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    print(table)
    if args.write:
        path = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
        start, end = "<!-- detect_speed:start -->", "<!-- detect_speed:end -->"
        doc = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
        block = f"{start}\n{table}\n{end}"
        if start in doc and end in doc:
            doc = doc[: doc.index(start)] + block + doc[doc.index(end) + len(end) :]
        else:
            doc = doc.rstrip("\n") + "\n\n" + block + "\n"
        path.write_text(doc, encoding="utf-8")


if __name__ == "__main__":
    main()
