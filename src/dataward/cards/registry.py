"""The one place card processors are registered: a factory from a URL and its settings.

``https://`` URLs get :class:`HttpCardProcessor`. Settings come from arguments or from the
environment (``DATAWARD_PROCESSOR_URL``, ``DATAWARD_PROCESSOR_API_KEY_FILE``,
``DATAWARD_PROCESSOR_CA_BUNDLE``, ``DATAWARD_PROCESSOR_PINS`` comma-separated,
``DATAWARD_PROCESSOR_TIMEOUT``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Final

import httpx
from pydantic import SecretStr

from dataward.cards.processor import CardProcessor, HttpCardProcessor
from dataward.errors import ConfigurationError

__all__ = ["PROCESSOR_FACTORIES", "processor_from_env", "processor_from_url"]

Factory = Callable[..., CardProcessor]

PROCESSOR_FACTORIES: Final[Mapping[str, Factory]] = {"https": HttpCardProcessor}


def processor_from_url(
    url: str,
    *,
    api_key: str | SecretStr,
    ca_bundle: str | Path | None = None,
    pins: Iterable[str] = (),
    timeout: float = 10.0,
    retries: int = 3,
) -> CardProcessor:
    """The processor registered for ``url``'s scheme."""
    scheme = httpx.URL(url).scheme
    factory = PROCESSOR_FACTORIES.get(scheme)
    if factory is None:
        raise ConfigurationError(
            f"no card processor is registered for {scheme or 'this'!r} URLs; use an https:// URL"
        )
    return factory(
        url, api_key, ca_bundle=ca_bundle, pins=tuple(pins), timeout=timeout, retries=retries
    )


def processor_from_env(environ: Mapping[str, str] | None = None) -> CardProcessor:
    """A processor configured by the ``DATAWARD_PROCESSOR_*`` variables."""
    env = os.environ if environ is None else environ
    url = env.get("DATAWARD_PROCESSOR_URL")
    key_file = env.get("DATAWARD_PROCESSOR_API_KEY_FILE")
    if not url or not key_file:
        raise ConfigurationError(
            "set DATAWARD_PROCESSOR_URL and DATAWARD_PROCESSOR_API_KEY_FILE to reach the card "
            "processor (for development: run `dataward-processor`)"
        )
    try:
        api_key = Path(key_file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the processor API key file {key_file} ({exc.strerror})"
        ) from None
    try:
        timeout = float(env.get("DATAWARD_PROCESSOR_TIMEOUT", "10"))
    except ValueError:
        raise ConfigurationError("DATAWARD_PROCESSOR_TIMEOUT must be a number of seconds") from None
    pins = [p for p in env.get("DATAWARD_PROCESSOR_PINS", "").split(",") if p.strip()]
    return processor_from_url(
        url,
        api_key=SecretStr(api_key),
        ca_bundle=env.get("DATAWARD_PROCESSOR_CA_BUNDLE"),
        pins=pins,
        timeout=timeout,
    )
