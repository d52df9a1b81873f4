"""The service's typed settings: a TOML file, then ``DATAWARD_SERVICE_*`` variables, then flags.

Read once at start-up. Precedence, highest first: explicit overrides (``dataward serve --port``),
environment variables (``DATAWARD_SERVICE_PORT=8080``), the file (``--config FILE``, else
``<home>/service.toml`` when present), then the defaults below. Where the data lives (database
URL, key store) stays in :class:`dataward.settings.Settings`; the card processor is configured by
the ``DATAWARD_PROCESSOR_*`` variables of :func:`dataward.cards.processor_from_env`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dataward.errors import ConfigurationError
from dataward.settings import Settings

__all__ = ["CONFIG_FILENAME", "ENV_PREFIX", "ServiceConfig", "load_service_config"]

CONFIG_FILENAME = "service.toml"
ENV_PREFIX = "DATAWARD_SERVICE_"


class ServiceConfig(BaseModel):
    """How the HTTP service runs. Frozen; unknown keys are refused (a typo is an error)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field("127.0.0.1", description="Bind address.")
    port: int = Field(8000, ge=0, le=65535, description="Bind port (0 picks a free one).")
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes.")
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body accepted; larger ones get 413."
    )
    rate_limit_per_second: float = Field(
        1000.0, gt=0, description="Sustained requests per second allowed to one API key."
    )
    rate_limit_burst: int = Field(
        2000, ge=1, description="Requests one API key may send at once before the rate applies."
    )
    key_cache_seconds: float = Field(
        2.0,
        ge=0,
        description="How long a worker trusts a verified API key before re-reading it; bounds "
        "how late a revocation reaches the other workers (the revoking worker forgets at once).",
    )
    decision_flush_seconds: float = Field(
        0.05, gt=0, le=5, description="Decisions are audited in batches at least this often."
    )
    batch_max: int = Field(1000, ge=1, le=10_000, description="Most requests in one batch call.")
    processor: bool = Field(
        True, description="Serve the card endpoints (needs the DATAWARD_PROCESSOR_* variables)."
    )
    open_probes: bool = Field(
        True, description="/healthz and /readyz answer without an API key (for orchestrators)."
    )
    access_log: bool = Field(True, description="One redacted line per request.")
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"


_FIELDS = tuple(ServiceConfig.model_fields)


def _from_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the service configuration {path} ({exc.strerror})"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: not valid TOML ({exc})") from None
    section = data.get("service", data)
    if not isinstance(section, dict):
        raise ConfigurationError(f"{path}: [service] must be a table")
    return dict(section)


def load_service_config(
    settings: Settings,
    *,
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> ServiceConfig:
    """The service configuration from file, environment and ``overrides`` (``None`` skipped)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    file = Path(path).expanduser() if path is not None else settings.home / CONFIG_FILENAME
    if path is not None or file.is_file():
        values.update(_from_file(file))
    for name in _FIELDS:
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is not None:
            values[name] = raw
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return ServiceConfig.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigurationError(
            f"invalid service configuration ({problems}); fix the file, the "
            f"{ENV_PREFIX}* variables or the flags"
        ) from None
