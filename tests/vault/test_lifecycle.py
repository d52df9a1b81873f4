"""Lifecycle: retention applied on schedule, idempotent, safe when two runs start at once."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select

from dataward.db import create_engine_for, upgrade
from dataward.vault import Vault, run_lifecycle
from dataward.vault.core import purge_destroyed
from dataward.vault.lifecycle import due_for_destruction
from dataward.vault.schema import destroyed, subjects, values

from .conftest import AUTH, BILLING, DPM, SERVICE, SUPPORT, audit_count

T0 = datetime(2030, 1, 1)


def _seed(vault: Vault, n: int = 3) -> None:
    for i in range(n):
        vault.store(f"l-{i}", "email", f"l{i}@example.com", category="contact.email",
                    purpose="contract", actor=SERVICE, now=T0)  # fmt: skip
        vault.store(f"l-{i}", "password", f"pw-{i}-secret", category="secret.password",
                    purpose="authentication", actor=AUTH, now=T0)  # fmt: skip


def test_retention_schedule(vault: Vault) -> None:
    _seed(vault)
    assert run_lifecycle(vault, T0 + timedelta(days=1)).to_dict() == {
        "archived": 0, "destroyed": 0, "subjects_shredded": 0, "orphan_keys_shredded": 0,
        "blocked": 0, "purged": 0, "held": 0,
    }  # fmt: skip
    r = run_lifecycle(vault, T0 + timedelta(days=31))  # high class: keep P30D, never archived
    assert (r.destroyed, r.archived) == (3, 0)
    assert [f.field for f in vault.fields_of("l-0")] == ["email"]
    n0 = audit_count(vault)
    r = run_lifecycle(vault, datetime(2033, 1, 2))  # low: keep P3Y -> archive
    assert r.archived == 3
    assert audit_count(vault) == n0 + 3
    assert run_lifecycle(vault, datetime(2033, 1, 2)).archived == 0  # idempotent
    got = vault.use("l-0", "email", purpose="data_subject_request", actor=DPM)["email"]
    assert got.state == "archived" and got.value == "l0@example.com"
    r = run_lifecycle(vault, datetime(2040, 1, 2))  # archive P7Y more -> destroy
    assert (r.destroyed, r.subjects_shredded) == (3, 3)
    assert vault.keyring.get("l-0") is None
    assert vault.audit.verify().ok  # type: ignore[attr-defined]


def test_two_runs_at_once_do_each_change_once(vault: Vault) -> None:
    _seed(vault, 6)
    results = []

    def go() -> None:
        results.append(run_lifecycle(vault, datetime(2033, 1, 2), batch=2))

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.archived for r in results) == 6
    assert sum(r.destroyed for r in results) == 6  # the passwords
    assert vault.audit.verify().ok  # type: ignore[attr-defined]


def test_destroyed_rows_are_purged_and_the_id_can_be_reused(vault: Vault) -> None:
    _seed(vault, 2)
    assert vault.destroy("l-0", actor=DPM) == ("contact.email", "secret.password")
    with vault.engine.connect() as conn:
        left = conn.execute(select(func.count()).select_from(values)).scalar_one()
    assert left == 4  # unreadable rows of l-0 wait for the purge; l-1 untouched
    vault.store("l-0", "email", "fresh@example.com", category="contact.email",
                purpose="contract", actor=SERVICE)  # fmt: skip
    assert [f.field for f in vault.fields_of("l-0")] == ["email"]
    assert vault.use("l-0", "email", purpose="support", actor=SUPPORT)["email"].value == (
        "fresh@example.com"
    )
    vault.destroy("l-0", actor=DPM)
    assert run_lifecycle(vault, T0).purged == 1
    with vault.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(values)).scalar_one() == 2


def test_the_purge_drains_the_queue_in_rounds_of_any_size(vault: Vault) -> None:
    n = 130  # more than one round of queued subjects
    vault.store_many(
        [(f"q-{i}", f, f"q{i}.{f}@example.com", "contact.email") for i in range(n)
         for f in ("email", "work_email")],
        purpose="contract", actor=SERVICE,
    )  # fmt: skip
    for i in range(n):
        vault.destroy(f"q-{i}", actor=DPM)
    vault.store(
        "q-0",
        "email",
        "back@example.com",
        category="contact.email",
        purpose="contract",
        actor=SERVICE,
    )  # fmt: skip  (re-created: its residue goes)
    total, rounds = 0, 0
    while True:
        with vault.engine.begin() as conn:
            got = purge_destroyed(conn, batch=7)
        assert got <= 7
        if got == 0:
            break
        total += got
        rounds += 1
    assert total == 2 * (n - 1)
    with vault.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(destroyed)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(values)).scalar_one() == 1
    assert vault.use("q-0", "email", purpose="support", actor=SUPPORT)["email"].value == (
        "back@example.com"
    )


def test_revision_0004_queues_the_residue_destroyed_before_it(db_url: str) -> None:
    engine = create_engine_for(db_url)
    upgrade(engine, "0003")
    now = datetime(2030, 1, 1)
    row = {"category": "contact.email", "data_class": "low", "protection": "encrypted",
           "nonce": b"n" * 12, "ciphertext": b"c" * 32, "version": 1, "state": "active",
           "purpose": "contract", "policy_version": "1", "stored_at": now}  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(subjects), [{"subject_id": "alive", "created_at": now}])
        conn.execute(insert(values), [
            {**row, "subject_id": "alive", "field": "email"},
            {**row, "subject_id": "gone", "field": "email"},
            {**row, "subject_id": "gone", "field": "phone"},
        ])  # fmt: skip
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(select(destroyed.c.subject_id)).scalars().all() == ["gone"]
        assert purge_destroyed(conn) == 2
    engine.dispose()


def test_rows_that_escaped_the_queue_are_found_and_purged_by_the_lifecycle(vault: Vault) -> None:
    # value rows of a subject that is neither live nor queued (a store that raced a destroy,
    # or a destroy by an older version): the lifecycle queues and purges them
    vault.store("o-1", "email", "o1@example.com", category="contact.email",
                purpose="contract", actor=SERVICE)  # fmt: skip
    with vault.engine.begin() as conn:
        conn.execute(subjects.delete().where(subjects.c.subject_id == "o-1"))
    assert run_lifecycle(vault, T0).purged == 1
    with vault.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(values)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(destroyed)).scalar_one() == 0
    vault.store("o-1", "email", "new@example.com", category="contact.email",
                purpose="contract", actor=SERVICE)  # fmt: skip
    assert vault.use("o-1", "email", purpose="support", actor=SUPPORT)["email"].value == (
        "new@example.com"
    )


def test_held_subjects_are_left_alone_and_counted(vault: Vault) -> None:
    vault.store("card:0a1b", "display", "visa ****4242 01/2031", category="card.expiry",
                purpose="billing", actor=BILLING, now=T0)  # fmt: skip
    _seed(vault, 1)
    r = run_lifecycle(vault, datetime(2045, 1, 1))  # cards are held by default
    assert r.held == 1 and r.subjects_shredded == 1  # l-0 went; the card is held
    assert [f.field for f in vault.fields_of("card:0a1b")] == ["display"]
    assert due_for_destruction(vault, datetime(2045, 1, 1), prefix="card:") == ["card:0a1b"]
    assert due_for_destruction(vault, T0, prefix="card:") == []
    assert run_lifecycle(vault, datetime(2045, 1, 1), hold=()).subjects_shredded == 1  # opt-out
