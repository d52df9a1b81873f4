"""What every CLI command shares: the state object and the error-to-exit-code mapping."""

from __future__ import annotations

from dataclasses import dataclass

import typer
from rich.console import Console
from rich.markup import escape

from dataward.errors import DatawardError
from dataward.settings import Settings

__all__ = ["State", "err_console", "out_console", "run_guarded", "state_of"]

out_console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass(frozen=True)
class State:
    settings: Settings


def state_of(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    if not isinstance(obj, State):  # pragma: no cover - the root callback always sets it
        raise RuntimeError("dataward CLI state missing")
    return obj


def run_guarded(app: typer.Typer, argv: list[str] | None = None) -> int:
    """Run ``app``; a DatawardError prints ``error: <message>`` and returns its exit code.

    Tracebacks are never shown for DatawardError, so no value can leak through one.
    """
    try:
        rv = app(args=argv, standalone_mode=False)
    except DatawardError as exc:
        err_console.print(f"[red]error:[/red] {escape(exc.message)}")
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        err_console.print("aborted")
        return 130
    except typer.TyperException as exc:  # usage errors carry their own exit code
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err_console.print(f"error: {escape(str(exc))}")
        code = getattr(exc, "exit_code", 2)
        return code if isinstance(code, int) else 2
    return rv if isinstance(rv, int) else 0
