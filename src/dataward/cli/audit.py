"""`dataward audit`: verify, show, checkpoint, prove, export, keys. Thin: the library does it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dataward.audit import (
    AuditLog,
    Checkpoint,
    VerifyResult,
    export_log,
    load_checkpoint_file,
    load_signing_key,
    rotate_signing_key,
    verify_offline,
)
from dataward.audit.keys import key_id
from dataward.cli.common import err_console, out_console, state_of
from dataward.db import create_engine_for, ensure_schema
from dataward.errors import AuditIntegrityError, InputError

app = typer.Typer(no_args_is_help=True)
keys_app = typer.Typer(no_args_is_help=True)
app.add_typer(keys_app, name="keys", help="Manage the checkpoint signing key.")


class Format(StrEnum):
    table = "table"
    jsonl = "jsonl"


@contextmanager
def _open_log(ctx: typer.Context, *, signing: bool = False) -> Iterator[AuditLog]:
    settings = state_of(ctx).settings
    settings.ensure_home()
    engine = create_engine_for(settings.effective_database_url)
    try:
        ensure_schema(engine)  # automatic for the embedded SQLite; PostgreSQL: `db upgrade`
        key = load_signing_key(settings.home) if signing else None
        yield AuditLog(engine, signing_key=key)
    finally:
        engine.dispose()


def _report(result: VerifyResult) -> None:
    if result.ok:
        out_console.print(
            f"audit log OK: {result.entries} entries, {result.checkpoints} checkpoint(s) "
            f"verified, root {result.root.hex()}"
        )
        return
    raise AuditIntegrityError(
        f"audit log verification FAILED at entry {result.first_bad_seq}: {result.reason}",
        seq=result.first_bad_seq,
    )


def _against(path: Path | None) -> tuple[tuple[Checkpoint, ...], dict[str, bytes]]:
    if path is None:
        return (), {}
    cp, pub = load_checkpoint_file(path)
    return (cp,), ({cp.key_id: pub} if pub is not None else {})


@app.command("verify")
def verify_command(
    ctx: typer.Context,
    offline: Annotated[
        Path | None, typer.Option("--offline", help="Verify an export directory instead.")
    ] = None,
    against: Annotated[
        Path | None, typer.Option("--against", help="A checkpoint file you kept.")
    ] = None,
) -> None:
    """Recompute chain and tree, check every checkpoint; exit non-zero at the first bad entry."""
    held, keys = _against(against)
    if offline is not None:
        _report(verify_offline(offline, against=held, trusted_keys=keys))
        return
    with _open_log(ctx) as log:
        _report(log.verify(against=held, trusted_keys=keys))


def _when(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{name}: expected an ISO-8601 time such as 2026-01-31T00:00Z") from None
    if parsed.tzinfo is None:
        raise InputError(f"{name}: give a time zone (e.g. Z for UTC)")
    return parsed


@app.command("show")
def show_command(
    ctx: typer.Context,
    subject: Annotated[str | None, typer.Option(help="Subject reference.")] = None,
    actor: Annotated[str | None, typer.Option(help="Actor id.")] = None,
    category: Annotated[str | None, typer.Option(help="Category, e.g. contact.email.")] = None,
    action: Annotated[str | None, typer.Option(help="Action, e.g. share.")] = None,
    since: Annotated[str | None, typer.Option(help="From this UTC time (inclusive).")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this UTC time (exclusive).")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many entries.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table or jsonl.")] = Format.table,
) -> None:
    """Show entries matching the filters, oldest first."""
    with _open_log(ctx) as log:
        entries = log.query(
            subject_ref=subject,
            actor_id=actor,
            category=category,
            action=action,
            since=_when(since, "--since"),
            until=_when(until, "--until"),
            limit=limit,
        )
        if fmt is Format.jsonl:
            for e in entries:
                typer.echo(json.dumps(e.to_json(), sort_keys=True, separators=(",", ":")))
            return
        table = Table(
            "seq",
            "time",
            "actor",
            "role",
            "action",
            "subject",
            "categories",
            "decision",
            "purpose",
            "recipient",
            "outcome",
        )
        for e in entries:
            d = e.decision
            table.add_row(
                str(e.seq),
                e.time,
                e.actor_id,
                e.actor_role,
                e.action,
                e.subject_ref or "",
                ", ".join(e.categories),
                "" if d is None else f"{'allow' if d.allowed else 'deny'} {d.rule_id or ''}",
                e.purpose or "",
                e.recipient or "",
                e.outcome,
            )
        out_console.print(table)


@app.command("checkpoint")
def checkpoint_command(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option("--out", help="Also save it to this file.")] = None,
) -> None:
    """Sign a checkpoint of the log now; prints it as JSON (keep a copy: `prove --against`)."""
    with _open_log(ctx, signing=True) as log:
        cp = log.checkpoint()
        pub = log.public_keys()[cp.key_id]
        doc = json.dumps(cp.to_json(pub), indent=2)
    if out is not None:
        out.write_text(doc + "\n", encoding="utf-8")
    typer.echo(doc)


@app.command("prove")
def prove_command(
    ctx: typer.Context,
    seq: Annotated[int, typer.Argument(help="Entry number to prove.")],
    against: Annotated[
        Path | None, typer.Option("--against", help="A checkpoint file you kept.")
    ] = None,
) -> None:
    """Inclusion proof of entry N; with --against, also consistency with your checkpoint."""
    with _open_log(ctx) as log:
        proof = log.prove_inclusion(seq)
        doc: dict[str, object] = {
            "inclusion": {
                "seq": proof.seq,
                "tree_size": proof.tree_size,
                "leaf_hash": proof.leaf_hash.hex(),
                "path": [p.hex() for p in proof.path],
                "root": proof.root.hex(),
                "valid": proof.verify(),
            }
        }
        ok = proof.verify()
        if against is not None:
            (held,), keys = _against(against)
            pub = keys.get(held.key_id) or log.public_keys().get(held.key_id)
            sig_ok = pub is not None and held.signature_valid(pub)
            cons = log.prove_consistency(held.tree_size, proof.tree_size)
            cons_ok = cons.verify() and cons.first_root == held.root_hash
            doc["consistency"] = {
                "first": cons.first,
                "second": cons.second,
                "first_root": cons.first_root.hex(),
                "second_root": cons.second_root.hex(),
                "path": [p.hex() for p in cons.path],
                "signature_valid": sig_ok,
                "matches_checkpoint": cons.first_root == held.root_hash,
                "valid": cons_ok,
            }
            ok = ok and sig_ok and cons_ok
    typer.echo(json.dumps(doc, indent=2))
    if not ok:
        raise AuditIntegrityError(
            "proof FAILED: the log is not consistent with the checkpoint you hold", seq=seq
        )


@app.command("export")
def export_command(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Directory to write the export into.")],
) -> None:
    """Write entries (JSON Lines), checkpoints and public keys for an offline audit."""
    with _open_log(ctx) as log:
        manifest = export_log(log, directory)
    out_console.print(f"exported {manifest['entries']} entries to {escape(str(directory))}")


@keys_app.command("rotate")
def rotate_command(ctx: typer.Context) -> None:
    """New signing key; the old public key stays so old checkpoints still verify."""
    settings = state_of(ctx).settings
    with _open_log(ctx, signing=True) as log:
        old, new = rotate_signing_key(settings.home)
        log.signing_key = old
        cp = log.rotate_key(new)
    err_console.print(f"retired key {key_id(old)}")
    out_console.print(f"new key {key_id(new)}; checkpoint of {cp.tree_size} entries signed")


@app.command("prune")
def prune_command(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what would be pruned.")
    ] = False,
) -> None:
    """Remove the content of entries older than the policy's audit_retention (hashes stay)."""
    from dataward.policy import load_policy  # only this command needs the policy

    settings = state_of(ctx).settings
    retention = load_policy(settings.effective_policy_path).audit_retention
    with _open_log(ctx, signing=not dry_run) as log:
        result = log.prune(retention, dry_run=dry_run)
    verb = "would prune" if dry_run else "pruned"
    if result.pruned:
        out_console.print(
            f"{verb} {result.pruned} entries ({result.first}..{result.last}) older than "
            f"{result.cutoff} (audit_retention {retention})"
        )
    else:
        out_console.print(f"nothing to prune: no entry older than {result.cutoff} left")
