"""`dataward serve` (production) and `dataward up` (everything local, what `make run` runs).

The service modules (FastAPI, uvicorn, the app) are imported when one of these commands runs,
not when the CLI starts: every other verb would pay for them otherwise.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from dataward.cli.common import state_of

__all__ = ["serve_command", "up_command"]

HostOpt = Annotated[
    str | None, typer.Option("--host", help="Bind address.", show_default="127.0.0.1")
]
PortOpt = Annotated[
    int | None,
    typer.Option("--port", help="Bind port; 0 picks a free one.", show_default="8000"),
]
LogLevelOpt = Annotated[
    str | None,
    typer.Option(
        "--log-level",
        help="critical, error, warning, info or debug (every line passes the redacting filter).",
        show_default="info",
    ),
]
PortFileOpt = Annotated[
    Path | None,
    typer.Option("--port-file", help="Write the bound port to this file once listening."),
]


class _StopRequestedError(Exception):
    """SIGTERM arrived: unwind, so every child process and file is cleaned up."""


def _on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise _StopRequestedError


@contextmanager
def _stoppable() -> Iterator[None]:
    """Turn SIGTERM and Ctrl-C into a clean exit (status 0) that runs every ``finally``.

    While uvicorn serves, it handles both signals itself (graceful stop) and raises them again
    once stopped; they then land here."""
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    except (_StopRequestedError, KeyboardInterrupt):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def _url(host: str, port: int) -> str:
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def serve_command(
    ctx: typer.Context,
    host: HostOpt = None,
    port: PortOpt = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Worker processes.", show_default="1"),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Service settings (TOML); default <home>/service.toml when present.",
        ),
    ] = None,
    port_file: PortFileOpt = None,
    log_level: LogLevelOpt = None,
) -> None:
    """Serve the HTTP API. Settings: --config file, then DATAWARD_SERVICE_* variables, then
    these flags; the database (DATAWARD_DATABASE_URL), key store (DATAWARD_VAULT_*) and card
    processor (DATAWARD_PROCESSOR_*) come from the environment."""
    from dataward.service.config import load_service_config
    from dataward.service.server import bind_socket, serve

    settings = state_of(ctx).settings
    conf = load_service_config(
        settings, path=config, host=host, port=port, workers=workers, log_level=log_level
    )
    with _stoppable():
        # several workers: the socket joins their SO_REUSEPORT group (the port is never free)
        sock = bind_socket(conf.host, conf.port, reuseport=conf.workers > 1)
        typer.echo(f"dataward: serving on {_url(conf.host, sock.getsockname()[1])}", err=True)
        serve(settings, conf, port_file=port_file, sock=sock)


def up_command(
    ctx: typer.Context,
    host: HostOpt = None,
    port: PortOpt = None,
    port_file: PortFileOpt = None,
    log_level: LogLevelOpt = None,
) -> None:
    """Everything local: data directory, SQLite vault and keys, the reference card processor,
    a fresh bootstrap admin key (the previous one is revoked), then the service."""
    from dataward.service.bootstrap import (
        ProcessorChild,
        ensure_processor_files,
        rotate_bootstrap_key,
    )
    from dataward.service.config import load_service_config
    from dataward.service.server import bind_socket, serve

    settings = state_of(ctx).settings
    with _stoppable():
        home = settings.ensure_home()
        files = ensure_processor_files(home)
        admin_key = rotate_bootstrap_key(settings)
        with ProcessorChild(files).start() as processor:
            env = {**os.environ, **processor.environment()}
            conf = load_service_config(
                settings, environ=env, host=host, port=port, workers=1, log_level=log_level
            )
            sock = bind_socket(conf.host, conf.port)
            url = _url(conf.host, sock.getsockname()[1])
            typer.echo(f"dataward: data directory {home.absolute()}")
            typer.echo(f"dataward: reference card processor at {processor.url}")
            typer.echo("dataward: admin API key (shown once; `dataward up` replaces it):")
            typer.echo(admin_key)
            typer.echo(f"dataward: API docs at {url}/docs (Ctrl-C stops)")
            serve(settings, conf, env, port_file=port_file, sock=sock)
