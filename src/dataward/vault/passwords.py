"""Passwords are kept only as Argon2id hashes (argon2-cffi), never encrypted, never returned."""

from __future__ import annotations

from dataclasses import dataclass, field

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from dataward.errors import InputError

__all__ = ["PasswordHasher"]


@dataclass(frozen=True)
class PasswordHasher:
    """Argon2id with RFC 9106's second recommended profile by default (64 MiB, t=3, p=4).

    Tests and benchmarks may pass cheaper parameters; ``needs_rehash`` reports hashes made with
    other parameters so callers can upgrade them at the next successful login.
    """

    time_cost: int = 3
    memory_cost: int = 65536  # KiB
    parallelism: int = 4
    _hasher: _Argon2 = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "_hasher",
            _Argon2(
                time_cost=self.time_cost,
                memory_cost=self.memory_cost,
                parallelism=self.parallelism,
                type=Type.ID,
            ),
        )

    def hash(self, password: str) -> str:
        """A salted Argon2id hash in the PHC string format (``$argon2id$v=19$...``)."""
        if not isinstance(password, str):
            raise InputError("a password must be text")
        return self._hasher.hash(password)

    def verify(self, encoded: str, candidate: str) -> bool:
        """True when ``candidate`` matches the stored hash; False otherwise (never raises on a
        mismatch). A stored value that is not an Argon2 hash is an :class:`InputError`."""
        try:
            return bool(self._hasher.verify(encoded, candidate))
        except VerifyMismatchError:
            return False
        except (InvalidHashError, VerificationError):
            raise InputError(
                "the stored password is not a valid Argon2id hash; reset the password"
            ) from None

    def needs_rehash(self, encoded: str) -> bool:
        """True when ``encoded`` was made with other parameters than this hasher's."""
        try:
            return bool(self._hasher.check_needs_rehash(encoded))
        except (InvalidHashError, ValueError):
            return True

    @staticmethod
    def is_hash(value: str) -> bool:
        """True for an Argon2id PHC string (used to refuse storing a password in clear)."""
        return value.startswith("$argon2id$")
