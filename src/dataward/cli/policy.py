"""`dataward policy` commands: show, lint, decide, explain, diff, status, test. Thin: each calls
:mod:`dataward.policy`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dataward.cli.common import err_console, out_console, state_of
from dataward.errors import InputError
from dataward.policy import Policy, diff_policies, lint_policy, load_policy, run_policy_tests
from dataward.taxonomy import Action, DataClass

app = typer.Typer(no_args_is_help=True)


def _policy(ctx: typer.Context) -> Policy:
    return load_policy(settings=state_of(ctx).settings)


def _matrix(policy: Policy) -> dict[tuple[str, DataClass], str]:
    """Summarise the decisions per class and action: who may, with which obligations."""
    allowed: dict[tuple[str, DataClass], tuple[set[str], set[str], set[str]]] = {}
    for key, d in policy.decision_table().items():
        if d.allowed:
            roles, cats, obligations = allowed.setdefault(
                (key[0], policy.taxonomy.class_of(key[1])), (set(), set(), set())
            )
            roles.add(key[2])
            cats.add(key[1])
            obligations.update(o.value for o in d.obligations)
    out = {}
    for action in Action:
        for dc in DataClass:
            if (action.value, dc) not in allowed:
                out[(action.value, dc)] = "[red]deny[/red]"
                continue
            roles, cats, obligations = allowed[(action.value, dc)]
            some = "" if len(cats) == len(policy.taxonomy.in_class(dc)) else " (some)"
            obl = f" ({', '.join(sorted(obligations))})" if obligations else ""
            out[(action.value, dc)] = f"[green]allow[/green]{some}: {', '.join(sorted(roles))}{obl}"
    return out


@app.command("show")
def show(ctx: typer.Context) -> None:
    """Print the class x action matrix of the policy in force."""
    policy = _policy(ctx)
    md = policy.metadata
    table = Table(
        title=f"dataward policy {md.version} (effective {md.effective}, next review "
        f"{md.next_review}) from {escape(policy.source)}",
        show_lines=True,
    )
    table.add_column("class", style="bold", no_wrap=True, min_width=9)
    for action in Action:
        table.add_column(action.value)
    cells = _matrix(policy)
    for dc in DataClass:
        if policy.taxonomy.in_class(dc):
            table.add_row(dc.value, *(cells[(a.value, dc)] for a in Action))
    out_console.print(table)
    out_console.print(
        f"owner: {escape(md.owner)} · processors: {', '.join(policy.processors) or 'none'} · "
        "details: `dataward policy decide --help`"
    )


_AS_OF = typer.Option(
    "--as-of", help="Judge the review date as of this day (YYYY-MM-DD; default: today)."
)


def _as_of(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError("--as-of takes a date written YYYY-MM-DD, e.g. 2027-01-31") from None


@app.command("lint")
def lint(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(help="Policy file (default: the one in force).")
    ] = None,
    as_of: Annotated[str | None, _AS_OF] = None,
) -> None:
    """Check a policy file; prints `file:line: severity: message`, exits 1 on errors."""
    target = file if file is not None else state_of(ctx).settings.effective_policy_path
    findings = lint_policy(target, today=_as_of(as_of))
    for f in findings:
        out_console.print(escape(str(f)))
    errors = sum(f.severity == "error" for f in findings)
    name = str(target) if target is not None else "the default policy"
    if errors:
        err_console.print(f"{errors} error(s) in {escape(name)}")
        raise typer.Exit(1)
    out_console.print(f"{escape(name)}: ok")


@app.command("decide")
def decide(
    ctx: typer.Context,
    action: Annotated[str, typer.Option("--action", help="create, store, use, share, ...")],
    category: Annotated[str, typer.Option("--category", help="e.g. contact.email")],
    role: Annotated[str, typer.Option("--role", help="Who acts, e.g. support.")],
    purpose: Annotated[str, typer.Option("--purpose", help="Why, e.g. support.")],
    recipient: Annotated[str | None, typer.Option("--recipient", help="For share.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    explain: Annotated[bool, typer.Option("--explain", help="List the rules considered.")] = False,
) -> None:
    """Decide one request (exit code 0 whether allowed or denied)."""
    policy = _policy(ctx)
    req = {"action": action, "category": category, "role": role, "purpose": purpose}
    expl = policy.explain(**req, recipient=recipient)
    d = expl.decision
    if as_json:
        doc = d.to_dict()
        if explain:
            doc["explain"] = [
                {"rule_id": s.rule_id, "applied": s.applied, "why": s.why, "line": s.line}
                for s in expl.steps
            ]
        out_console.print_json(json.dumps(doc))
        return
    verdict = "[green]allow[/green]" if d.allowed else "[red]deny[/red]"
    out_console.print(f"{verdict} by {escape(d.rule_id)} (policy {escape(d.policy_version)})")
    out_console.print(escape(d.reason))
    if d.obligations:
        out_console.print("obligations: " + ", ".join(sorted(o.value for o in d.obligations)))
    if d.retention is not None:
        out_console.print(f"retention: {d.retention}")
    if explain:
        for line in expl.lines():
            out_console.print(escape(line))


@app.command("diff")
def diff(
    old: Annotated[Path, typer.Argument(help="The policy before.")],
    new: Annotated[Path, typer.Argument(help="The policy after.")],
) -> None:
    """Say what changed between two policy files, rule by rule."""
    changes = diff_policies(load_policy(old), load_policy(new))
    for line in changes:
        out_console.print(f"- {escape(line)}")
    if not changes:
        out_console.print("no changes")


@app.command("status")
def status(
    ctx: typer.Context,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when the review is overdue.")
    ] = False,
    as_of: Annotated[str | None, _AS_OF] = None,
) -> None:
    """Version, dates and whether the annual review is overdue."""
    policy = _policy(ctx)
    md = policy.metadata
    today = _as_of(as_of)
    overdue = md.overdue(today)
    out_console.print(f"policy: {escape(policy.source)}")
    out_console.print(f"version: {escape(md.version)}")
    out_console.print(f"effective: {md.effective.isoformat()}")
    out_console.print(f"next review: {md.next_review.isoformat()}")
    out_console.print(f"owner: {escape(md.owner)}")
    out_console.print(f"audit retention: {policy.audit_retention}")
    if overdue:
        days = (today - md.next_review).days
        out_console.print(f"[red]review overdue by {days} day(s)[/red]")
        if check:
            raise typer.Exit(1)
    else:
        out_console.print(f"review due in {(md.next_review - today).days} day(s)")


@app.command("test")
def test(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="YAML file of test cases.")],
) -> None:
    """Run policy test cases against the policy in force; exits 1 if any fails."""
    report = run_policy_tests(_policy(ctx), file)
    for r in report.results:
        if not r.passed:
            out_console.print(
                f"[red]FAIL[/red] {escape(report.path)}:{r.line}: {escape(r.label)}: "
                + escape("; ".join(r.problems))
            )
    summary = f"{report.passed} passed, {report.failed} failed"
    if not report.ok:
        err_console.print(summary)
        raise typer.Exit(1)
    out_console.print(summary)
