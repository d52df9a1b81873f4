"""`dataward keys create|list|revoke` and `dataward vault rotate-keys`, called in-process through
``run_guarded`` like the console script, on the embedded SQLite of a temporary data directory."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dataward.cli.common import run_guarded
from dataward.cli.main import app
from dataward.db import create_engine_for
from dataward.errors import AuthenticationError, InputError, NotFoundError
from dataward.policy import load_policy
from dataward.service.apikeys import ApiKey, ApiKeyStore
from dataward.settings import load_settings


@dataclass
class Result:
    code: int
    out: str
    err: str


Run = Callable[..., Result]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for k in [k for k in os.environ if k.startswith("DATAWARD_")]:
        monkeypatch.delenv(k)
    return tmp_path / "home"


@pytest.fixture
def run(home: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    def _run(*args: str) -> Result:
        capsys.readouterr()
        code = run_guarded(app, ["--home", str(home), *args])
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return _run


@pytest.fixture
def store(home: Path, run: Run) -> Iterator[ApiKeyStore]:
    """The same table, read by the library (as the service would)."""
    assert run("keys", "list").code == 0  # creates and migrates the data directory
    settings = load_settings(home, environ={})
    engine = create_engine_for(settings.effective_database_url)
    try:
        yield ApiKeyStore(engine, roles=load_policy().roles, cache_seconds=0)
    finally:
        engine.dispose()


def _create(run: Run, *args: str) -> tuple[Result, str]:
    res = run("keys", "create", *args)
    assert res.code == 0, res.err
    return res, res.out.rstrip("\n").splitlines()[-1]


def test_create_prints_the_key_alone_on_its_last_line(run: Run, store: ApiKeyStore) -> None:
    res, full = _create(run, "--role", "support", "--name", "helpdesk")
    key = store.authenticate(full)
    assert (key.role, key.name, key.created_by) == ("support", "helpdesk", "cli")
    lines = res.out.splitlines()
    assert lines[:3] == [f"id: {key.id}", "role: support", "name: helpdesk"]
    assert full not in "\n".join(lines[:-1])
    assert "shown once" in res.err
    assert full not in res.err


def test_list_never_shows_secrets(run: Run, store: ApiKeyStore) -> None:
    _, a = _create(run, "--role", "service", "--name", "billing-app")
    _, b = _create(run, "--role", "auditor")
    ka, kb = store.authenticate(a), store.authenticate(b)
    text = run("keys", "list")
    assert text.code == 0
    assert ka.id in text.out and kb.id in text.out and "billing-app" in text.out
    doc = json.loads(run("keys", "list", "--json").out)
    assert [k["id"] for k in doc["keys"]] == [ka.id, kb.id]
    assert doc["keys"][0]["role"] == "service" and doc["keys"][0]["active"] is True
    for full in (a, b):
        secret = full.split("_", 2)[2]
        assert secret not in text.out
        assert secret not in json.dumps(doc)


def test_revoke_stops_the_key_and_list_hides_it_unless_all(run: Run, store: ApiKeyStore) -> None:
    _, full = _create(run, "--role", "support")
    key = store.authenticate(full)
    res = run("keys", "revoke", key.id)
    assert res.code == 0 and key.id in res.out
    with pytest.raises(AuthenticationError):
        store.authenticate(full)
    assert key.id not in run("keys", "list").out
    listed = json.loads(run("keys", "list", "--json", "--all").out)["keys"]
    assert [(k["id"], k["active"]) for k in listed] == [(key.id, False)]
    revoked: ApiKey = store.get(key.id)
    assert not revoked.active


def test_create_and_revoke_are_audited(run: Run, store: ApiKeyStore) -> None:
    _, full = _create(run, "--role", "support")
    key = store.authenticate(full)
    assert run("keys", "revoke", key.id).code == 0
    shown = run("audit", "show", "--subject", key.id, "--format", "jsonl")
    assert shown.code == 0, shown.err
    entries = [json.loads(line) for line in shown.out.splitlines()]
    assert [(e["action"], e["actor_id"], e["actor_role"]) for e in entries] == [
        ("key_create", "cli", "admin"),
        ("key_revoke", "cli", "admin"),
    ]
    assert full.split("_", 2)[2] not in shown.out


@pytest.mark.parametrize(
    ("args", "error", "shown"),
    [
        (("create", "--role", "marketing"), InputError, "marketing"),
        (("revoke", "abcdefabcdef"), NotFoundError, "abcdefabcdef"),
        (("revoke", "not-an-id"), NotFoundError, "12 lowercase hex"),
    ],
)
def test_errors_exit_with_their_code(
    run: Run, args: tuple[str, ...], error: type[Exception], shown: str
) -> None:
    res = run("keys", *args)
    assert res.code == error.exit_code
    assert shown in res.err


def test_unknown_role_lists_the_policy_roles(run: Run) -> None:
    res = run("keys", "create", "--role", "marketing")
    for role in ("service", "support", "dpm", "admin"):
        assert role in res.err


def test_rotate_moved_to_vault_rotate_keys(run: Run) -> None:
    put = run("vault", "put", "c1", "email", "jane@example.ch", "--category", "contact.email",
              "--purpose", "contract", "--role", "service")  # fmt: skip
    assert put.code == 0, put.err
    rot = run("vault", "rotate-keys")
    assert rot.code == 0, rot.err
    assert json.loads(rot.out)["rewrapped"] == 1
    assert run("keys", "rotate").code != 0  # the keys group is about API keys now
    got = run("vault", "get", "c1", "email", "--purpose", "support", "--role", "support")
    assert got.out.strip() == "jane@example.ch"
