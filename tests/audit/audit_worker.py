"""Run in a spawned process by the concurrency test: append entries one transaction each."""

from __future__ import annotations

from dataward.audit import AuditLog
from dataward.db import create_engine_for


def append_entries(url: str, worker: int, count: int) -> int:
    engine = create_engine_for(url)
    try:
        log = AuditLog(engine)
        for i in range(count):
            log.append(
                {
                    "actor_id": f"worker-{worker}",
                    "actor_role": "service",
                    "action": "use",
                    "subject_ref": f"subj-{worker}-{i}",
                    "categories": ["contact.email"],
                    "purpose": "contract",
                    "request_id": f"w{worker}-r{i}",
                }
            )
    finally:
        engine.dispose()
    return count
