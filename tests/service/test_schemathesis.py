"""schemathesis over the whole OpenAPI schema, in process (ASGI), on SQLite, with the reference
card processor running: no 5xx, every response conforms to the schema (body and status code).

Run twice: with an admin key (audit, keys, metrics) and with a service key (the data plane).
Examples are bounded so that the module stays well under a minute and a half on two cores.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from dataward.service.app import create_app
from dataward.service.bootstrap import ProcessorChild, ensure_processor_files
from dataward.service.config import ServiceConfig
from dataward.service.context import ServiceContext
from dataward.settings import load_settings
from dataward.vault import Actor

pytestmark = pytest.mark.slow

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
SEED = [
    ("email", "jane.doe@example.com", "contact.email"),
    ("name", "Jane Doe", "person.name"),
    ("address", "Bahnhofstrasse 1, 8001 Zürich", "contact.postal_address"),
]
BOUNDED = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServiceContext, dict[str, str]]]:
    """A real context (vault, keys, audit) in a temporary home, the processor as a child."""
    home = tmp_path_factory.mktemp("schemathesis-home")
    files = ensure_processor_files(home)
    with ProcessorChild(files).start() as processor:
        environ = processor.environment()
        settings_ = load_settings(home, environ=environ)
        config = ServiceConfig(decision_flush_seconds=0.01)  # type: ignore[call-arg]
        ctx = ServiceContext.open(settings_, config, environ)
        try:
            # The schema's example subject holds data, so example requests reach real answers
            # (a share to the processor, a listing) and not only 404s.
            seed = Actor("schemathesis-seed", "billing")
            for field, value, category in SEED:
                ctx.vault.store(
                    "cust-1042", field, value, category=category, purpose="billing", actor=seed
                )
            keys = {
                role: ctx.keys.create(role, name="schemathesis")[1] for role in ("admin", "service")
            }
            yield ctx, keys
        finally:
            ctx.close()


@pytest.fixture(scope="module")
def asgi_app(world: tuple[ServiceContext, dict[str, str]]) -> Any:
    return create_app(world[0])


#: The schema of the app (building an app without a context does no I/O); the requests go to
#: ``asgi_app``, which serves a real context.
schema = schemathesis.openapi.from_dict(create_app().openapi())


def _call(case: Any, app: Any, world: tuple[ServiceContext, dict[str, str]], role: str) -> None:
    headers = {"Authorization": f"Bearer {world[1][role]}"}
    case.call_and_validate(app=app, headers=headers, checks=CHECKS)


@schema.parametrize()
@BOUNDED
def test_as_admin(case: Any, asgi_app: Any, world: tuple[ServiceContext, dict[str, str]]) -> None:
    _call(case, asgi_app, world, "admin")


@schema.parametrize()
@BOUNDED
def test_as_service(case: Any, asgi_app: Any, world: tuple[ServiceContext, dict[str, str]]) -> None:
    _call(case, asgi_app, world, "service")


def test_the_schema_has_every_area_with_examples(
    world: tuple[ServiceContext, dict[str, str]],
) -> None:
    spec = create_app(world[0]).openapi()
    paths = set(spec["paths"])
    assert {"/v1/decide", "/v1/keys", "/v1/cards", "/v1/audit/entries", "/readyz"} <= paths
    bodies = [
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for item in spec["paths"].values()
        for op in item.values()
        if "requestBody" in op
    ]
    models = spec["components"]["schemas"]
    missing = [name for name in bodies if "examples" not in models[name]]
    assert not missing, f"request models without examples: {missing}"
