"""Service fixtures: a real :class:`ServiceContext` (vault, audit log, API keys, rate limiter)
in a temporary data directory, on SQLite or PostgreSQL, and a TestClient over ``create_app``.

- ``service_home``: the data directory (a tmp dir).
- ``service_settings`` / ``service_config``: settings on SQLite; override ``service_config``
  in a test module (or use ``make_service_config``) to change limits.
- ``service_ctx``: the context on SQLite; ``service_ctx_pg`` the same on PostgreSQL;
  ``service_ctx_any`` runs a test on both (through the shared ``db_url`` fixture).
- ``client`` (TestClient over ``service_ctx``), ``client_any`` (over ``service_ctx_any``).
- ``api_key(role) -> str``: a new key of that role (``api_key_any`` for ``service_ctx_any``);
  ``auth(role) -> headers`` gives ``{"Authorization": "Bearer <key>"}`` directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cards.conftest import ProcessorServer, ca, ca_path, processor_server  # noqa: F401
from dataward.cards import HttpCardProcessor
from dataward.db import create_engine_for, upgrade
from dataward.service.app import create_app
from dataward.service.config import ServiceConfig
from dataward.service.context import ServiceContext
from dataward.settings import Settings, load_settings
from dataward.vault.factory import open_vault

#: No processor variables, no DATAWARD_* from the developer's shell: the tests' own world.
SERVICE_ENVIRON: dict[str, str] = {}

KeyFactory = Callable[[str], str]
AuthFactory = Callable[[str], dict[str, str]]


def make_service_config(**overrides: Any) -> ServiceConfig:
    """The tests' defaults: decisions flushed fast, no processor needed."""
    values: dict[str, Any] = {"decision_flush_seconds": 0.01, "processor": False}
    values.update(overrides)
    return ServiceConfig(**values)


def open_context(
    home: Path, config: ServiceConfig, *, database_url: str | None = None
) -> ServiceContext:
    settings = load_settings(home, environ=SERVICE_ENVIRON, database_url=database_url)
    if database_url is not None:
        engine = create_engine_for(database_url)
        try:
            upgrade(engine)  # PostgreSQL is never migrated implicitly
        finally:
            engine.dispose()
    return ServiceContext.open(settings, config, SERVICE_ENVIRON)


@pytest.fixture
def service_home(tmp_path: Path) -> Path:
    home = tmp_path / "dataward-home"
    home.mkdir(mode=0o700)
    return home


@pytest.fixture
def service_settings(service_home: Path) -> Settings:
    return load_settings(service_home, environ=SERVICE_ENVIRON)


@pytest.fixture
def service_config() -> ServiceConfig:
    return make_service_config()


@pytest.fixture
def service_ctx(service_home: Path, service_config: ServiceConfig) -> Iterator[ServiceContext]:
    ctx = open_context(service_home, service_config)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def service_ctx_pg(
    service_home: Path, service_config: ServiceConfig, pg_url: str
) -> Iterator[ServiceContext]:
    ctx = open_context(service_home, service_config, database_url=pg_url)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def service_ctx_any(
    service_home: Path, service_config: ServiceConfig, db_url: str
) -> Iterator[ServiceContext]:
    """Once on SQLite, once on PostgreSQL."""
    url = None if db_url.startswith("sqlite") else db_url
    ctx = open_context(service_home, service_config, database_url=url)
    try:
        yield ctx
    finally:
        ctx.close()


def _client(ctx: ServiceContext) -> Iterator[TestClient]:
    with TestClient(create_app(ctx), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def client(service_ctx: ServiceContext) -> Iterator[TestClient]:
    yield from _client(service_ctx)


@pytest.fixture
def client_any(service_ctx_any: ServiceContext) -> Iterator[TestClient]:
    yield from _client(service_ctx_any)


def _key_factory(ctx: ServiceContext) -> KeyFactory:
    def make(role: str) -> str:
        _, secret = ctx.keys.create(role, name=f"test {role}")
        return str(secret)

    return make


@pytest.fixture
def api_key(service_ctx: ServiceContext) -> KeyFactory:
    """``api_key("support")`` -> a fresh full key of that role."""
    return _key_factory(service_ctx)


@pytest.fixture
def api_key_any(service_ctx_any: ServiceContext) -> KeyFactory:
    return _key_factory(service_ctx_any)


@pytest.fixture
def auth(api_key: KeyFactory) -> AuthFactory:
    """``auth("dpm")`` -> ``{"Authorization": "Bearer <new dpm key>"}``."""
    return lambda role: {"Authorization": f"Bearer {api_key(role)}"}


@pytest.fixture
def auth_any(api_key_any: KeyFactory) -> AuthFactory:
    return lambda role: {"Authorization": f"Bearer {api_key_any(role)}"}


# --- with the reference card processor (TLS, its own process) ---------------------------------


@pytest.fixture
def card_client(
    processor_server: ProcessorServer,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> Iterator[tuple[TestClient, ServiceContext]]:
    home = tmp_path / "home"
    home.mkdir()
    settings = load_settings(home, environ=SERVICE_ENVIRON)
    vault = open_vault(settings, SERVICE_ENVIRON)
    processor = HttpCardProcessor(
        processor_server.url,
        processor_server.api_key,
        ca_bundle=processor_server.ca_path,
        pins=[processor_server.cert_pin],
    )
    ctx = ServiceContext.build(
        settings, make_service_config(processor=True), vault, processor=processor
    )
    try:
        with TestClient(create_app(ctx), raise_server_exceptions=False) as c:
            yield c, ctx
    finally:
        ctx.close()


def role_headers(ctx: ServiceContext, role: str) -> dict[str, str]:
    """Authorization headers of a new API key of ``role``."""
    _, key = ctx.keys.create(role)
    return {"Authorization": f"Bearer {key}"}
