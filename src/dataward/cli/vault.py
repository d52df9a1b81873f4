"""`dataward vault`: put, get, find, export, destroy, rotate-keys. Thin: the library does it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.markup import escape

from dataward.cards.intake import access_export
from dataward.cli.common import out_console, state_of
from dataward.vault import Actor, Vault

app = typer.Typer(no_args_is_help=True)

ActorOpt = Annotated[
    str, typer.Option("--actor", help="Who acts: an opaque id recorded in the audit log.")
]


@contextmanager
def open_cli_vault(ctx: typer.Context) -> Iterator[Vault]:
    """The vault of the data directory (``--home`` / ``DATAWARD_HOME``), closed afterwards."""
    vault = Vault.open(state_of(ctx).settings)
    try:
        yield vault
    finally:
        vault.close()


def _print(text: str) -> None:
    out_console.print(escape(text), markup=True, highlight=False)


@app.command("put")
def put(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(help="Subject id (an opaque reference).")],
    field: Annotated[str, typer.Argument(help="Field name, e.g. email.")],
    value: Annotated[str, typer.Argument(help="The value to store.")],
    purpose: Annotated[str, typer.Option("--purpose", help="Why (a policy purpose).")],
    role: Annotated[str, typer.Option("--role", help="Who (a policy role).")],
    category: Annotated[
        str | None, typer.Option("--category", help="Taxonomy category; else detected.")
    ] = None,
    actor: ActorOpt = "cli",
) -> None:
    """Classify, check the policy, encrypt and store one value."""
    with open_cli_vault(ctx) as v:
        info = v.store(
            subject, field, value, category=category, purpose=purpose, actor=Actor(actor, role)
        )
    _print(
        f"stored {subject} {field}: {info.category} ({info.data_class}), {info.protection}, "
        f"version {info.version}"
    )


@app.command("get")
def get(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(help="Subject id.")],
    field: Annotated[str, typer.Argument(help="Field name.")],
    purpose: Annotated[str, typer.Option("--purpose", help="Why (a policy purpose).")],
    role: Annotated[str, typer.Option("--role", help="Who (a policy role).")],
    actor: ActorOpt = "cli",
) -> None:
    """Print a value as the policy lets this role see it for this purpose."""
    with open_cli_vault(ctx) as v:
        shown = v.use(subject, [field], purpose=purpose, actor=Actor(actor, role))[field]
    _print(shown.display())


@app.command("find")
def find(
    ctx: typer.Context,
    email: Annotated[str | None, typer.Option("--email", help="E-mail address.")] = None,
    customer_id: Annotated[str | None, typer.Option("--customer-id", help="Customer id.")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="Phone number.")] = None,
    purpose: Annotated[str, typer.Option("--purpose")] = "data_subject_request",
    role: Annotated[str, typer.Option("--role")] = "dpm",
    actor: ActorOpt = "cli",
) -> None:
    """Find subjects by e-mail, customer id or phone (blind index; nothing decrypted)."""
    with open_cli_vault(ctx) as v:
        found = v.find_subjects(
            email=email,
            customer_id=customer_id,
            phone=phone,
            purpose=purpose,
            actor=Actor(actor, role),
        )
    for sid in found:  # one per line; none found prints nothing (exit 0)
        _print(sid)


@app.command("export")
def export(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(help="Subject id.")],
    purpose: Annotated[str, typer.Option("--purpose")] = "data_subject_request",
    role: Annotated[str, typer.Option("--role")] = "dpm",
    actor: ActorOpt = "cli",
) -> None:
    """Everything held about a subject, as JSON (the raw material of an access request),
    with the subject's cards on file under "cards" (display form and expiry, never the number
    or the token)."""
    with open_cli_vault(ctx) as v:
        doc = access_export(v, subject, purpose=purpose, actor=Actor(actor, role))
    typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))


@app.command("destroy")
def destroy(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(help="Subject id.")],
    purpose: Annotated[str, typer.Option("--purpose")] = "data_subject_request",
    role: Annotated[str, typer.Option("--role")] = "dpm",
    actor: ActorOpt = "cli",
) -> None:
    """Crypto-shred a subject: its data key, values and index entries are deleted."""
    with open_cli_vault(ctx) as v:
        cats = v.destroy(subject, purpose=purpose, actor=Actor(actor, role))
    _print(f"destroyed {subject} ({', '.join(cats) or 'no values'}); its data key is shredded")


@app.command("rotate-keys")
def rotate_keys(
    ctx: typer.Context,
    actor: ActorOpt = "cli",
    role: Annotated[str, typer.Option("--role", help="The operator's role.")] = "admin",
) -> None:
    """Rotate the key-encryption key and re-wrap every subject's data key (data untouched)."""
    with open_cli_vault(ctx) as v:
        report = v.rotate_keys(actor=Actor(actor, role))
    typer.echo(json.dumps(report, sort_keys=True))
