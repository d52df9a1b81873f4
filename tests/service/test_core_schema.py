"""The CORE endpoints against their own OpenAPI schema (schemathesis, in process): no 5xx, every
answer as documented, schema-valid requests accepted. The whole-API run lives with the e2e."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

from dataward.service.app import create_app
from dataward.service.context import ServiceContext

from .conftest import make_service_config, open_context

CORE_PATHS = r"^/(v1/(decide|policy|keys)|healthz|readyz|metrics)"


@pytest.fixture(scope="module")
def core_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, str]]:
    home: Path = tmp_path_factory.mktemp("schema") / "home"
    home.mkdir()
    ctx: ServiceContext = open_context(home, make_service_config())
    try:
        _, key = ctx.keys.create("admin")
        yield create_app(ctx), key
    finally:
        ctx.close()


def test_core_endpoints_keep_to_their_schema(core_app: tuple[FastAPI, str]) -> None:
    app, key = core_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex=CORE_PATHS)
    headers = {"Authorization": f"Bearer {key}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers)

        check()
