"""Run every benchmark in turn; each writes its own table into BENCHMARKS.md.

.venv/bin/python bench/run_all.py [--quick]      (or: make bench)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# script, the flag that makes it write its table
BENCHES = [
    ("policy_bench.py", []),
    ("detect_speed.py", ["--write"]),
    ("detect_bench.py", []),
    ("audit_bench.py", []),
    ("vault_bench.py", []),
    ("cards_e2e.py", []),
    ("http_bench.py", []),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    args = ap.parse_args()
    failed = []
    for script, extra in BENCHES:
        cmd = [sys.executable, str(HERE / script), *extra, *(["--quick"] if args.quick else [])]
        print(f"== {' '.join(cmd[1:])}", flush=True)
        if subprocess.run(cmd, check=False).returncode != 0:
            failed.append(script)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
