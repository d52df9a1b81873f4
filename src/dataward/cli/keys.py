"""`dataward keys`: create, list and revoke the HTTP service's API keys. Thin: the library does it.

Keys live in the data database (table ``api_keys``); only a hash of each secret is stored, so
``create`` shows the full key once, alone on its last line (``KEY=$(dataward keys create --role
service | tail -n1)``). The key-encryption-key rotation is ``dataward vault rotate-keys``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from dataward.cli.common import err_console, state_of
from dataward.cli.vault import open_cli_vault
from dataward.policy import Policy, load_policy
from dataward.service.apikeys import ApiKey, ApiKeyStore
from dataward.vault import Actor

app = typer.Typer(no_args_is_help=True)

ActorOpt = Annotated[
    str, typer.Option("--actor", help="Who acts: an opaque id recorded in the audit log.")
]


@contextmanager
def open_key_store(ctx: typer.Context) -> Iterator[ApiKeyStore]:
    """The API keys of the data directory's database (migrated like the vault), roles from its
    policy, create and revoke audited in its log."""
    with open_cli_vault(ctx) as v:
        policy = v.policy
        if not isinstance(policy, Policy):  # pragma: no cover - Vault.open builds a Policy
            policy = load_policy(settings=state_of(ctx).settings)
        roles = policy.roles
        yield ApiKeyStore(v.engine, roles=roles, audit=v.audit, cache_seconds=0)


def _record(key: ApiKey) -> dict[str, object]:
    return {
        "id": key.id,
        "role": key.role,
        "name": key.name,
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        "created_by": key.created_by,
        "active": key.active,
    }


@app.command("create")
def create(
    ctx: typer.Context,
    role: Annotated[str, typer.Option("--role", help="A role of the policy, e.g. service.")],
    name: Annotated[str, typer.Option("--name", help="A label: which application holds it.")] = "",
    actor: ActorOpt = "cli",
) -> None:
    """Create an API key; the key is printed alone on the last line, this once."""
    with open_key_store(ctx) as keys:
        key, secret = keys.create(role, name=name, actor=Actor(actor, "admin"))
    typer.echo(f"id: {key.id}")
    typer.echo(f"role: {key.role}")
    typer.echo(f"name: {key.name}")
    err_console.print(
        "note: the key below is shown once and cannot be recovered (only a hash is stored); "
        "clients send it as 'Authorization: Bearer <key>'"
    )
    typer.echo(secret)


@app.command("list")
def list_keys(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
    show_all: Annotated[bool, typer.Option("--all", help="Also list revoked keys.")] = False,
) -> None:
    """List API keys (never their secrets): active ones, or all with --all."""
    with open_key_store(ctx) as keys:
        found = keys.list(include_revoked=show_all)
    if as_json:
        typer.echo(json.dumps({"keys": [_record(k) for k in found]}, indent=2))
        return
    for k in found:
        state = "active" if k.active else f"revoked {k.revoked_at:%Y-%m-%dT%H:%M:%SZ}"
        typer.echo(
            f"{k.id}  {k.role:<14}  {k.created_at:%Y-%m-%dT%H:%M:%SZ}  {state:<28}  {k.name}"
        )


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key id (12 hex digits), from `keys list`.")],
    actor: ActorOpt = "cli",
) -> None:
    """Revoke an API key: services refuse it within their key cache time (2 s by default)."""
    with open_key_store(ctx) as keys:
        key = keys.revoke(key_id, actor=Actor(actor, "admin"))
    typer.echo(f"revoked {key.id} ({key.role})")
