"""Everything one running service holds: the vault and its parts, API keys, the rate limiter,
the decision log, metrics, and the card intake when a processor is configured.

Built once per process by :meth:`ServiceContext.open` (or by the caller, for tests and
embedding) and handed to :func:`dataward.service.app.create_app`; routers reach it through
:func:`dataward.service.deps.get_context`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import httpx

from dataward.audit import AuditLog
from dataward.cards.intake import CardIntake
from dataward.cards.processor import CardProcessor, HttpCardProcessor
from dataward.cards.registry import processor_from_env
from dataward.cards.token_crypto import TokenKey
from dataward.detect.engine import Detector
from dataward.errors import ConfigurationError, ProcessorUnavailableError
from dataward.policy import Policy
from dataward.service.apikeys import ApiKeyStore
from dataward.service.config import ServiceConfig
from dataward.service.decisions import DecisionRecorder
from dataward.service.metrics import Metrics
from dataward.service.ratelimit import RateLimiter
from dataward.settings import Settings
from dataward.vault import Vault
from dataward.vault.factory import open_vault

__all__ = ["CARD_TOKEN_KEY_FILE", "PROCESSOR_VARIABLES", "ServiceContext", "card_token_key"]

_log = logging.getLogger("dataward.service")

#: Where the card token key lives, under the data directory.
CARD_TOKEN_KEY_FILE: Final = Path("keys") / "card-token.key"
#: The variables the card endpoints need (named in the 503 they answer without them).
PROCESSOR_VARIABLES: Final = ("DATAWARD_PROCESSOR_URL", "DATAWARD_PROCESSOR_API_KEY_FILE")


def card_token_key(settings: Settings, *, create: bool = True) -> TokenKey:
    """The card token key of ``<home>/keys/card-token.key``, created (mode 0600) if missing
    (``create=False``: :class:`ConfigurationError` instead, for jobs that only read cards)."""
    if not create and not (settings.home / CARD_TOKEN_KEY_FILE).exists():
        raise ConfigurationError(
            f"the card token key {CARD_TOKEN_KEY_FILE} is missing in the data directory; run "
            "this with the service's data directory (DATAWARD_HOME)"
        )
    keys = settings.ensure_home() / CARD_TOKEN_KEY_FILE.parent
    keys.mkdir(mode=0o700, exist_ok=True)
    path = settings.home / CARD_TOKEN_KEY_FILE
    if not path.exists():
        # created whole; if another worker was faster, its key wins
        TokenKey.generate().write(path, exist_ok=True)
    return TokenKey.from_file(path)


@dataclass
class ServiceContext:
    """The running service's parts. ``cards`` is None when no processor is configured."""

    settings: Settings
    config: ServiceConfig
    vault: Vault
    keys: ApiKeyStore
    limiter: RateLimiter
    decisions: DecisionRecorder
    metrics: Metrics
    cards: CardIntake | None = None
    #: The processor behind ``cards`` and its ``(host, port)`` (``/readyz`` connects to it).
    processor: CardProcessor | None = None
    processor_address: tuple[str, int] | None = None

    _policy: Policy = field(init=False, repr=False)
    _audit: AuditLog = field(init=False, repr=False)
    _detector: Detector = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # The vault types its parts by the small protocols it needs; the service serves the
        # policy, the log and the detector in full, so it needs the real ones (checked once).
        policy, audit, detector = self.vault.policy, self.vault.audit, self.vault.detector
        if not (
            isinstance(policy, Policy)
            and isinstance(audit, AuditLog)
            and isinstance(detector, Detector)
        ):
            raise ConfigurationError(
                "the service needs a vault built with dataward's Policy, AuditLog and Detector "
                "(open it with dataward.vault.factory.open_vault)"
            )
        self._policy, self._audit, self._detector = policy, audit, detector

    @property
    def policy(self) -> Policy:
        return self._policy

    @property
    def audit(self) -> AuditLog:
        return self._audit

    @property
    def detector(self) -> Detector:
        return self._detector

    def require_cards(self) -> CardIntake:
        """The card intake, or a 503 problem naming what to configure."""
        if self.cards is None:
            why = (
                "the card endpoints are switched off (processor = false in the service "
                "configuration)"
                if not self.config.processor
                else f"no card processor is configured: set {' and '.join(PROCESSOR_VARIABLES)}"
            )
            raise ProcessorUnavailableError(why + " and restart the service")
        return self.cards

    @classmethod
    def build(
        cls,
        settings: Settings,
        config: ServiceConfig,
        vault: Vault,
        *,
        processor: CardProcessor | None = None,
        processor_url: str | None = None,
    ) -> ServiceContext:
        """A context around an already opened vault (tests and embedding); with ``processor``
        the card endpoints are served (the token key is ``<home>/keys/card-token.key``)."""
        policy, audit = vault.policy, vault.audit
        if not (isinstance(policy, Policy) and isinstance(audit, AuditLog)):
            raise ConfigurationError(
                "the service needs a vault built with dataward's Policy and AuditLog "
                "(open it with dataward.vault.factory.open_vault)"
            )
        keys = ApiKeyStore(
            vault.engine,
            roles=policy.roles,
            audit=audit,
            cache_seconds=config.key_cache_seconds,
        )
        limiter = RateLimiter(config.rate_limit_per_second, config.rate_limit_burst)
        # Decision entries hold key ids and the policy's vocabulary only (see decision_entry):
        # the same log, without the detector scrubber that guards free identifiers.
        decision_log = AuditLog(
            vault.engine, signing_key=audit.signing_key, taxonomy=policy.taxonomy
        )
        decisions = DecisionRecorder(decision_log, flush_seconds=config.decision_flush_seconds)
        cards = None
        if processor is not None:
            cards = CardIntake(vault, processor, token_key=card_token_key(settings))
        address = None
        if processor_url:
            url = httpx.URL(processor_url)
            address = (url.host, url.port or 443)
        return cls(
            settings, config, vault, keys, limiter, decisions, Metrics(), cards, processor, address
        )

    @classmethod
    def open(
        cls,
        settings: Settings,
        config: ServiceConfig,
        environ: Mapping[str, str] | None = None,
    ) -> ServiceContext:
        """Open the vault the settings describe and wire the service around it."""
        env = os.environ if environ is None else environ
        vault = open_vault(settings, env)
        try:
            url = env.get("DATAWARD_PROCESSOR_URL") if config.processor else None
            if config.processor and not url:
                _log.info(
                    "the card endpoints answer 503: set %s to serve them",
                    " and ".join(PROCESSOR_VARIABLES),
                )
            processor = processor_from_env(env) if url else None
            return cls.build(settings, config, vault, processor=processor, processor_url=url)
        except BaseException:
            vault.close()
            raise

    def close(self) -> None:
        """Write the queued decisions, release connections and the processor's client."""
        self.decisions.close()
        if isinstance(self.processor, HttpCardProcessor):
            self.processor.close()
        self.vault.close()
