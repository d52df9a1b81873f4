"""Typed settings, read once: where state lives and how to reach the database.

Precedence, highest first: explicit arguments (``--home``), environment variables
(``DATAWARD_HOME``, ``DATAWARD_DATABASE_URL``, ...), then defaults. The data directory defaults to
the platform's user data directory. Secrets (database passwords, key material) print as ``***``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs
from pydantic import BaseModel, ConfigDict, SecretStr

from dataward.errors import ConfigurationError

__all__ = ["Settings", "load_settings"]

ENV_PREFIX = "DATAWARD_"
POLICY_FILENAME = "policy.yaml"


class Settings(BaseModel):
    """Where dataward keeps its state. Frozen: build a new one to change it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    home: Path
    database_url: SecretStr | None = None
    policy_path: Path | None = None

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file in the data directory."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.home / 'dataward.db'}"

    @property
    def effective_policy_path(self) -> Path | None:
        """The policy file to load: explicit, else ``policy.yaml`` in the data directory if
        present, else ``None`` (the shipped default)."""
        if self.policy_path is not None:
            return self.policy_path
        candidate = self.home / POLICY_FILENAME
        return candidate if candidate.is_file() else None

    def ensure_home(self) -> Path:
        """Create the data directory (mode 0700) if missing and return it."""
        try:
            self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot create the data directory {self.home} ({exc.strerror}); "
                "pass --home DIR or set DATAWARD_HOME to a writable directory"
            ) from None
        return self.home


def load_settings(
    home: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    policy_path: str | Path | None = None,
    database_url: str | None = None,
) -> Settings:
    """Build :class:`Settings` from arguments, then the environment, then defaults."""
    env = os.environ if environ is None else environ
    home_value = home or env.get(f"{ENV_PREFIX}HOME") or platformdirs.user_data_dir("dataward")
    db = database_url or env.get(f"{ENV_PREFIX}DATABASE_URL")
    pol = policy_path or env.get(f"{ENV_PREFIX}POLICY")
    return Settings(
        home=Path(home_value).expanduser(),
        database_url=SecretStr(db) if db else None,
        policy_path=Path(pol).expanduser() if pol else None,
    )
