"""Run the service under uvicorn (uvloop, httptools): one process, or several workers.

One worker serves the app object in this process. Several workers are spawned (``spawn``) by
a small supervisor here; each rebuilds its :class:`~dataward.settings.Settings` and
:class:`~dataward.service.config.ServiceConfig` from environment variables written by
:func:`worker_environment` and builds the app with :func:`app_from_environment` (an import-string
factory, as spawned processes need). Each worker has its own ``SO_REUSEPORT`` listening socket
on the one port, so the kernel spreads connections evenly over the workers (with one shared
socket, whichever worker wakes first takes most of them and saturates). The sockets are bound
here, before the workers start, so ``port=0`` works and the port actually bound can be written
to a *port file* for whoever waits on the service. A worker that dies is restarted.

uvicorn's own access log is off: the app's middleware writes one redacted line per request.
Every handler installed here carries the :class:`~dataward.logging.RedactingFilter`. SIGINT and
SIGTERM stop the server gracefully: it stops accepting, lets running requests finish (at most
:data:`GRACEFUL_SECONDS`), then runs the app's shutdown (which flushes pending audit entries).
"""

from __future__ import annotations

import gc
import logging
import logging.config
import os
import signal
import socket
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any, Final

import uvicorn
from fastapi import FastAPI

from dataward.errors import ConfigurationError
from dataward.service.app import create_app
from dataward.service.config import ENV_PREFIX, ServiceConfig, load_service_config
from dataward.service.context import ServiceContext
from dataward.service.logs import log_config
from dataward.service.supervisor import Supervisor
from dataward.service.transport import HttpProtocol
from dataward.settings import Settings, load_settings

__all__ = [
    "APP_FACTORY",
    "GRACEFUL_SECONDS",
    "app_from_environment",
    "bind_reuseport_sockets",
    "bind_socket",
    "serve",
    "worker_environment",
    "write_port_file",
]

#: The import string uvicorn's spawned workers call to build their app.
APP_FACTORY: Final = "dataward.service.server:app_from_environment"
#: How long running requests may take to finish once a stop is asked for.
GRACEFUL_SECONDS: Final = 10
_BACKLOG: Final = 2048
_log = logging.getLogger("dataward.service")


def _listen(host: str, port: int, *, reuseport: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuseport:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(_BACKLOG)
    except OSError as exc:
        sock.close()
        raise ConfigurationError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --host or "
            "--port, or stop what already listens there"
        ) from None
    sock.set_inheritable(True)
    return sock


def bind_socket(host: str, port: int, *, reuseport: bool = False) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``0`` picks a free port), inheritable by
    workers. ``reuseport``: with ``SO_REUSEPORT``, so that :func:`serve` with several workers
    keeps it as the first worker's socket and the port is never released at start-up. Raises
    :class:`ConfigurationError` when the address cannot be used."""
    return _listen(host, port, reuseport=reuseport)


def bind_reuseport_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` listening sockets on the same ``host:port`` with ``SO_REUSEPORT``: the
    kernel spreads new connections evenly over them (one per worker; a shared socket lets
    whichever worker wakes first take most of them). ``port`` 0: the first socket picks the
    port, the others join it. Raises :class:`ConfigurationError` when the address cannot be
    used."""
    socks = [_listen(host, port, reuseport=True)]
    try:
        bound = int(socks[0].getsockname()[1])
        socks += [_listen(host, bound, reuseport=True) for _ in range(count - 1)]
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


def write_port_file(path: Path, port: int) -> None:
    """Write ``port`` to ``path`` atomically (readers never see a partial file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(str(port), encoding="ascii")
    tmp.replace(path)


def worker_environment(
    settings: Settings, config: ServiceConfig, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The variables from which :func:`app_from_environment` rebuilds ``settings`` and
    ``config`` exactly (on top of ``environ``, which carries e.g. the processor variables)."""
    env = dict(os.environ if environ is None else environ)
    env["DATAWARD_HOME"] = str(settings.home.expanduser().absolute())
    if settings.database_url is not None:
        env["DATAWARD_DATABASE_URL"] = settings.database_url.get_secret_value()
    if settings.policy_path is not None:
        env["DATAWARD_POLICY"] = str(settings.policy_path.expanduser().absolute())
    for name, value in config.model_dump().items():
        env[ENV_PREFIX + name.upper()] = (
            str(value).lower() if isinstance(value, bool) else str(value)
        )
    return env


def app_from_environment() -> FastAPI:
    """The app of one spawned worker, from the variables of :func:`worker_environment`."""
    settings = load_settings()
    return create_app(settings=settings, config=load_service_config(settings))


class _Server(uvicorn.Server):
    """uvicorn's server that writes the bound port once the app has started and listens.

    Once started, it moves every object alive (the app, the policy, the libraries: some 150,000)
    out of the garbage collector's reach (:func:`gc.freeze`): a full collection would otherwise
    walk them all, stopping the event loop for a hundred milliseconds or more each time."""

    def __init__(self, config: uvicorn.Config, port_file: Path | None) -> None:
        super().__init__(config)
        self._port_file = port_file

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            gc.collect()
            gc.freeze()
        if self.started and sockets:
            port = sockets[0].getsockname()[1]
            _log.info("dataward service listening on port %d", port)
            if self._port_file is not None:
                write_port_file(self._port_file, int(port))


def _uvicorn_config(app: Any, config: ServiceConfig, *, factory: bool) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        factory=factory,
        loop="uvloop",
        http=HttpProtocol,
        lifespan="on",
        access_log=False,
        log_config=log_config(config.log_level),
        log_level=config.log_level,
        server_header=False,
        backlog=_BACKLOG,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
    )


def serve(
    settings: Settings,
    config: ServiceConfig,
    environ: Mapping[str, str] | None = None,
    *,
    port_file: Path | None = None,
    sock: socket.socket | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM, then stop gracefully.

    ``environ`` is the environment the app reads (processor variables, key store; default
    ``os.environ``). ``sock`` is an already bound socket (see :func:`bind_socket`), else one is
    bound on ``config.host:config.port``. ``port_file`` receives the port once the service
    listens (with one worker, once the app has started too).

    With several workers, each one listens on its own ``SO_REUSEPORT`` socket of the same
    port (see :func:`bind_reuseport_sockets`; a ``sock`` bound with ``reuseport=True`` is the
    first of them, a plain one only fixes the port and is closed):
    the kernel spreads the connections evenly. This process supervises them: it restarts a
    worker that dies and, on SIGINT or SIGTERM, asks each to stop (SIGTERM: graceful) and
    waits for them.
    """
    listener = sock or bind_socket(config.host, config.port)
    try:
        if config.workers == 1:
            # Opened here, not in the app's lifespan: a configuration error is reported as
            # such (and exits with its code) before anything is served.
            context = ServiceContext.open(settings, config, environ)
            try:
                app = create_app(context)
                server = _Server(_uvicorn_config(app, config, factory=False), port_file)
                server.run(sockets=[listener])
            finally:
                context.close()
            return
        # Once here first: configuration errors are reported before any worker starts (not
        # as a crash loop), and a fresh embedded database is migrated once, not by N racers.
        ServiceContext.open(settings, config, environ).close()
        host, port = listener.getsockname()[:2]
        if listener.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT):
            # the first worker's socket already: the others join it, the port stays held
            sockets = [listener]
            try:
                sockets += [_listen(host, port, reuseport=True) for _ in range(config.workers - 1)]
            except BaseException:
                for extra in sockets[1:]:
                    extra.close()
                raise
        else:
            listener.close()  # a plain socket cannot join a SO_REUSEPORT group: bind anew
            sockets = bind_reuseport_sockets(host, port, config.workers)
        logging.config.dictConfig(log_config(config.log_level))  # the supervisor's own lines
        try:
            Supervisor(
                _run_worker,
                worker_environment(settings, config, environ),
                sockets,
                grace_seconds=GRACEFUL_SECONDS + 20,
                write_port=None if port_file is None else partial(write_port_file, port_file),
                rebind=partial(_listen, host, int(sockets[0].getsockname()[1]), reuseport=True),
            ).run()
        finally:
            for s in sockets:
                s.close()
    finally:
        listener.close()


def _run_worker(env: dict[str, str], sock: socket.socket) -> None:
    """A spawned worker: rebuild settings and app from ``env``, serve on ``sock``."""
    os.environ.clear()
    os.environ.update(env)
    settings = load_settings()
    config = load_service_config(settings)
    uconfig = _uvicorn_config(APP_FACTORY, config, factory=True)
    uconfig.configure_logging()
    # uvicorn stops gracefully on SIGINT/SIGTERM, then raises the signal again for the handler
    # it found: let that be a no-op, so the worker ends normally (status 0, its log flushed)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _ignore)
    _Server(uconfig, None).run(sockets=[sock])


def _ignore(_signum: int, _frame: FrameType | None) -> None:
    return None
