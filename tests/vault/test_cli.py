"""The `dataward vault|lifecycle|keys` commands as outside checks call them (in-process,
through ``run_guarded`` like the console script)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer

from dataward.cli import keys as keys_cli
from dataward.cli import lifecycle as lifecycle_cli
from dataward.cli import vault as vault_cli
from dataward.cli.common import State, run_guarded
from dataward.settings import load_settings


def _app() -> typer.Typer:
    """The real root app once the lead registers the groups; until then the same modules under
    a root built exactly like main's (settings from DATAWARD_HOME, errors via run_guarded)."""
    from dataward.cli.main import app as main_app

    if {"vault", "lifecycle", "keys"} <= {g.name for g in main_app.registered_groups}:
        return main_app
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def _root(ctx: typer.Context) -> None:
        ctx.obj = State(settings=load_settings())

    app.add_typer(vault_cli.app, name="vault")
    app.add_typer(lifecycle_cli.app, name="lifecycle")
    app.add_typer(keys_cli.app, name="keys")
    return app


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Result]:
    for k in [k for k in os.environ if k.startswith("DATAWARD_")]:
        monkeypatch.delenv(k)
    monkeypatch.setenv("DATAWARD_HOME", str(tmp_path / "home"))
    app = _app()

    def _run(*args: str) -> Result:
        capsys.readouterr()
        code = run_guarded(app, list(args))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return _run


def test_cli_put_get_find_export_destroy_rotate_lifecycle(
    tmp_path: Path, run: Callable[..., Result]
) -> None:
    home = tmp_path / "home"
    ok = run("vault", "put", "cust-1", "email", "Alice@Example.com", "--category",
             "contact.email", "--purpose", "contract", "--role", "service")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    got = run("vault", "get", "cust-1", "email", "--purpose", "support", "--role", "support")
    assert got.returncode == 0 and got.stdout.strip() == "Alice@Example.com"
    denied = run("vault", "get", "cust-1", "email", "--purpose", "sales", "--role",
                 "support")  # fmt: skip
    assert denied.returncode != 0 and "denies" in denied.stderr
    forbidden = run("vault", "put", "cust-1", "note", "he is diabetic", "--category",
                    "sensitive.health", "--purpose", "support", "--role", "support")  # fmt: skip
    assert forbidden.returncode != 0
    assert "sensitive.health" in forbidden.stderr and "diabetic" not in forbidden.stderr
    card = run("vault", "put", "cust-1", "pan", "4111111111111111", "--category",
               "card.pan", "--purpose", "billing", "--role", "billing")  # fmt: skip
    assert card.returncode != 0 and "4111" not in card.stderr + card.stdout
    found = run("vault", "find", "--email", "alice@example.com")
    assert found.returncode == 0 and found.stdout.split() == ["cust-1"]
    rot = run("vault", "rotate-keys")
    assert rot.returncode == 0 and json.loads(rot.stdout)["rewrapped"] == 1
    exp = run("vault", "export", "cust-1")
    assert exp.returncode == 0
    doc = json.loads(exp.stdout)
    assert doc["fields"][0]["value"] == "Alice@Example.com"
    life = run("lifecycle", "run", "--now", "2031-01-01T00:00:00")
    assert life.returncode == 0, life.stderr
    assert json.loads(life.stdout)["archived"] == 1
    gone = run("vault", "destroy", "cust-1")
    assert gone.returncode == 0
    assert run("vault", "find", "--email", "alice@example.com").stdout.strip() == ""
    raw = b"".join(p.read_bytes() for p in home.rglob("*.db*") if p.is_file())
    assert b"Alice@Example.com" not in raw and b"diabetic" not in raw
