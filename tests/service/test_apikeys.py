"""API keys: created once, stored as a hash, authenticated, cached per process, revoked, audited.

Runs on SQLite and PostgreSQL (``db_url``), through the public API of ``ApiKeyStore``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, inspect, select

from dataward.audit import AuditLog, detector_scrubber
from dataward.db import create_engine_for, current_revision, head_revision, upgrade
from dataward.db.api_keys import api_keys
from dataward.db.schema import audit_entries
from dataward.errors import AuthenticationError, InputError, NotFoundError
from dataward.service.apikeys import ApiKey, ApiKeyStore, parse_key
from dataward.vault import Actor

ROLES = frozenset({"admin", "support", "service", "auditor"})
KEY_RE = re.compile(r"dw_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")
ADMIN = Actor("ops-admin", "admin")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Env:
    engine: Engine
    audit: AuditLog
    clock: FakeClock

    def store(self, cache_seconds: float = 2.0) -> ApiKeyStore:
        return ApiKeyStore(
            self.engine,
            roles=ROLES,
            audit=self.audit,
            cache_seconds=cache_seconds,
            clock=self.clock,
        )


@pytest.fixture
def env(db_url: str) -> Iterator[Env]:
    upgrade(db_url)
    engine = create_engine_for(db_url)
    try:
        yield Env(engine, AuditLog(engine, scrubber=detector_scrubber()), FakeClock())
    finally:
        engine.dispose()


@pytest.fixture
def store(env: Env) -> ApiKeyStore:
    return env.store()


def _every_stored_text(engine: Engine) -> str:
    """Every value of the api_keys and audit_entries tables, as one string."""
    with engine.connect() as conn:
        rows = [*conn.execute(select(api_keys)), *conn.execute(select(audit_entries))]
    return "\n".join(repr(tuple(r)) for r in rows)


# --- schema -------------------------------------------------------------------------------------


def test_migration_0003_creates_the_table(env: Env) -> None:
    assert current_revision(env.engine) == head_revision()
    columns = {c["name"] for c in inspect(env.engine).get_columns("api_keys")}
    assert columns == {
        "id", "role", "name", "secret_hash", "created_at", "revoked_at", "created_by",
    }  # fmt: skip


# --- create, authenticate -----------------------------------------------------------------------


def test_create_returns_the_full_key_once_and_it_authenticates(
    env: Env, store: ApiKeyStore
) -> None:
    key, full = store.create("support", name="helpdesk app", actor=ADMIN)
    assert KEY_RE.fullmatch(full)
    assert parse_key(full)[0] == key.id
    assert (key.role, key.name, key.created_by, key.active) == (
        "support",
        "helpdesk app",
        "ops-admin",
        True,
    )
    assert key.created_at.tzinfo is not None
    assert store.authenticate(full) == key
    assert env.store().authenticate(full) == key  # another process: read from the table
    assert store.get(key.id) == key


def test_only_a_hash_of_the_secret_is_stored(env: Env, store: ApiKeyStore) -> None:
    _, full = store.create("service", actor=ADMIN)
    secret = parse_key(full)[1]
    stored = _every_stored_text(env.engine)
    assert secret not in stored
    assert full not in stored
    with env.engine.connect() as conn:
        digest = conn.execute(select(api_keys.c.secret_hash)).scalar_one()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)


def test_each_key_is_unique(store: ApiKeyStore) -> None:
    made = [store.create("service") for _ in range(20)]
    assert len({k.id for k, _ in made}) == 20
    assert len({full for _, full in made}) == 20


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_tampered_truncated_or_other_key_fails(store: ApiKeyStore, data: st.DataObject) -> None:
    _, full = store.create("support")
    store.authenticate(full)  # cached: tampering must fail against the cache too
    kind = data.draw(st.sampled_from(["flip", "truncate", "extend", "other"]))
    if kind == "flip":
        i = data.draw(st.integers(0, len(full) - 1))
        alphabet = "abcdef0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_-"
        ch = data.draw(st.sampled_from(alphabet).filter(lambda c: c != full[i]))
        forged = full[:i] + ch + full[i + 1 :]
    elif kind == "truncate":
        forged = full[: data.draw(st.integers(0, len(full) - 1))]
    elif kind == "extend":
        forged = full + data.draw(st.text(min_size=1, max_size=5))
    else:
        forged = data.draw(st.text(max_size=80))
    if forged == full:
        return
    with pytest.raises(AuthenticationError) as err:
        store.authenticate(forged)
    assert parse_key(full)[1] not in err.value.message
    if len(forged) > 8:  # shorter strings may be words of the message
        assert forged not in err.value.message


def test_wrong_secret_with_a_cached_id_fails(store: ApiKeyStore) -> None:
    key, full = store.create("support")
    store.authenticate(full)
    _, other = store.create("support")
    forged = f"dw_{key.id}_{parse_key(other)[1]}"
    with pytest.raises(AuthenticationError):
        store.authenticate(forged)


@pytest.mark.parametrize(
    "token",
    ["", "dw_", "Bearer x", "dw_0123456789ab", "dw_ZZZZZZZZZZZZ_" + "a" * 43, "dw_abc_def"],
)
def test_malformed_keys_fail_without_echo(store: ApiKeyStore, token: str) -> None:
    with pytest.raises(AuthenticationError) as err:
        store.authenticate(token)
    assert err.value.http_status == 401
    if token:
        assert token not in err.value.message


def test_unknown_key_fails(store: ApiKeyStore) -> None:
    with pytest.raises(AuthenticationError):
        store.authenticate("dw_abcdefabcdef_" + "x" * 43)


def test_authenticate_from_many_threads(store: ApiKeyStore) -> None:
    keys = [store.create("service") for _ in range(4)]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda i: store.authenticate(keys[i % 4][1]), range(200)))
    assert [k.id for k in got] == [keys[i % 4][0].id for i in range(200)]


# --- revoke, cache ------------------------------------------------------------------------------


def test_revoked_keys_fail_at_once_in_this_process(store: ApiKeyStore) -> None:
    key, full = store.create("support")
    store.authenticate(full)  # now cached
    revoked = store.revoke(key.id, actor=ADMIN)
    assert not revoked.active
    assert revoked.revoked_at is not None
    with pytest.raises(AuthenticationError) as err:
        store.authenticate(full)
    assert "revoked" in err.value.message
    assert full not in err.value.message


def test_other_processes_notice_a_revocation_after_the_cache_time(env: Env) -> None:
    admin, worker = env.store(), env.store(cache_seconds=2.0)
    key, full = admin.create("support")
    worker.authenticate(full)
    admin.revoke(key.id)
    env.clock.now += 1.0
    assert worker.authenticate(full).id == key.id  # still trusted from the cache
    env.clock.now += 1.5
    with pytest.raises(AuthenticationError):
        worker.authenticate(full)


def test_no_cache_reads_the_table_each_time(env: Env) -> None:
    admin, worker = env.store(), env.store(cache_seconds=0)
    key, full = admin.create("support")
    worker.authenticate(full)
    admin.revoke(key.id)
    with pytest.raises(AuthenticationError):
        worker.authenticate(full)


def test_revoke_is_idempotent_and_audited_once(env: Env, store: ApiKeyStore) -> None:
    key, _ = store.create("support")
    first = store.revoke(key.id, actor=ADMIN)
    again = store.revoke(key.id, actor=ADMIN)
    assert first == again
    actions = [e.action for e in env.audit.query(subject_ref=key.id)]
    assert actions == ["key_create", "key_revoke"]


@pytest.mark.parametrize("key_id", ["abcdefabcdef", "nope", "ABCDEFABCDEF", ""])
def test_unknown_ids_are_not_found(store: ApiKeyStore, key_id: str) -> None:
    with pytest.raises(NotFoundError):
        store.revoke(key_id)
    with pytest.raises(NotFoundError):
        store.get(key_id)


# --- list ---------------------------------------------------------------------------------------


def test_list_shows_records_never_secrets(store: ApiKeyStore) -> None:
    a, full_a = store.create("support", name="a")
    b, full_b = store.create("auditor", name="b")
    store.revoke(a.id)
    listed = store.list()
    assert [k.id for k in listed] == [a.id, b.id]
    assert all(isinstance(k, ApiKey) for k in listed)
    assert [k.id for k in store.list(include_revoked=False)] == [b.id]
    shown = repr(listed)
    for full in (full_a, full_b):
        assert full not in shown
        assert parse_key(full)[1] not in shown


# --- roles, names -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["marketing", "root"])
def test_unknown_roles_are_refused_naming_them(store: ApiKeyStore, role: str) -> None:
    with pytest.raises(InputError) as err:
        store.create(role)
    assert repr(role) in err.value.message
    for known in ROLES:
        assert known in err.value.message
    assert store.list() == []


def test_a_role_that_is_no_name_is_not_echoed(store: ApiKeyStore) -> None:
    with pytest.raises(InputError) as err:
        store.create("alice@example.com")
    assert "alice" not in err.value.message


@pytest.mark.parametrize("name", ["x" * 101, "line\nbreak", "mail: bob@example.com"])
def test_bad_names_are_refused_without_echo(store: ApiKeyStore, name: str) -> None:
    with pytest.raises(InputError) as err:
        store.create("support", name=name)
    assert name not in err.value.message


# --- audit --------------------------------------------------------------------------------------


def test_create_and_revoke_are_audited_by_key_id(env: Env, store: ApiKeyStore) -> None:
    key, full = store.create("support", actor=ADMIN)
    store.revoke(key.id, actor=Actor("cli", "admin"))
    entries = list(env.audit.query(subject_ref=key.id))
    assert [(e.action, e.actor_id, e.actor_role) for e in entries] == [
        ("key_create", "ops-admin", "admin"),
        ("key_revoke", "cli", "admin"),
    ]
    assert env.audit.verify().ok
    stored = _every_stored_text(env.engine)
    assert parse_key(full)[1] not in stored


def test_without_an_actor_the_system_is_recorded(env: Env, store: ApiKeyStore) -> None:
    key, _ = store.create("service")
    assert key.created_by is None
    (entry,) = env.audit.query(subject_ref=key.id)
    assert entry.actor_id == "system"


def test_without_an_audit_log_nothing_is_audited(env: Env) -> None:
    plain = ApiKeyStore(env.engine, roles=ROLES)
    key, full = plain.create("service")
    assert plain.authenticate(full) == key
    assert list(env.audit.query()) == []
