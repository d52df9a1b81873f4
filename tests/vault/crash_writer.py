"""A vault writer for the crash test: ``python crash_writer.py DB_URL HOME START COUNT``.

Stores subject ``w-<i>`` for i in [START, START+COUNT) and prints ``i`` after each commit.
"""

from __future__ import annotations

import sys
from pathlib import Path

from dataward.audit import AuditLog
from dataward.db import create_engine_for
from dataward.detect.engine import Detector
from dataward.policy import load_policy
from dataward.vault import Actor, FileKeyStore, KeyRing, Vault


def main(url: str, home: str, start: int, count: int) -> None:
    engine = create_engine_for(url)
    policy = load_policy()
    keyring = KeyRing(
        create_engine_for(f"sqlite:///{Path(home) / 'keyring.db'}"),
        FileKeyStore(Path(home) / "keys"),
    )
    vault = Vault(engine, policy, keyring, AuditLog(engine), Detector.default())
    actor = Actor("crash-writer", "service")
    for i in range(start, start + count):
        vault.store(
            f"w-{i}", "email", f"user{i}@example.com", category="contact.email",
            purpose="contract", actor=actor,
        )  # fmt: skip
        print(i, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
