"""Which roles may call which endpoint: one explicit table.

This gate comes before the policy. It separates the data plane (every role of the policy except
those that must never see personal data) from the audit and administration planes. Each data
action then still goes through the policy with the caller's role and declared purpose, which
decides category by category.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

__all__ = ["NO_DATA_ROLES", "PERMISSIONS", "Grant", "Permission", "allowed_roles", "is_allowed"]

#: Roles of the default policy that hold no personal data (ARCHITECTURE.md).
NO_DATA_ROLES: frozenset[str] = frozenset({"auditor", "admin"})


class Permission(StrEnum):
    DECIDE = "decide"
    POLICY_READ = "policy.read"
    DETECT = "detect"
    VAULT_WRITE = "vault.write"
    VAULT_READ = "vault.read"
    VAULT_SHARE = "vault.share"
    VAULT_ERASE = "vault.erase"  # rectify, export for the subject, destroy: the DPM alone
    CARDS_USE = "cards.use"  # register and charge
    CARDS_REMOVE = "cards.remove"
    AUDIT_READ = "audit.read"
    AUDIT_WRITE = "audit.write"  # signed checkpoints
    KEYS_MANAGE = "keys.manage"
    METRICS = "metrics"


@dataclass(frozen=True, slots=True)
class Grant:
    """``roles`` None means every role of the loaded policy, minus ``exclude``."""

    roles: frozenset[str] | None = None
    exclude: frozenset[str] = frozenset()

    def allows(self, role: str, policy_roles: Collection[str]) -> bool:
        if role not in policy_roles or role in self.exclude:
            return False
        return self.roles is None or role in self.roles


_EVERYONE = Grant()
_DATA = Grant(exclude=NO_DATA_ROLES)

PERMISSIONS: Mapping[Permission, Grant] = MappingProxyType(
    {
        Permission.DECIDE: _EVERYONE,
        Permission.POLICY_READ: _EVERYONE,
        Permission.DETECT: _EVERYONE,
        Permission.VAULT_WRITE: _DATA,
        Permission.VAULT_READ: _DATA,
        Permission.VAULT_SHARE: _DATA,
        Permission.VAULT_ERASE: Grant(frozenset({"dpm"})),
        Permission.CARDS_USE: _DATA,
        Permission.CARDS_REMOVE: Grant(frozenset({"dpm", "billing"})),
        Permission.AUDIT_READ: Grant(frozenset({"auditor", "dpm", "admin"})),
        Permission.AUDIT_WRITE: Grant(frozenset({"admin"})),
        Permission.KEYS_MANAGE: Grant(frozenset({"admin"})),
        Permission.METRICS: Grant(frozenset({"admin", "auditor"})),
    }
)


def is_allowed(permission: Permission, role: str, policy_roles: Collection[str]) -> bool:
    """True when ``role`` (a role of the policy) may use ``permission``."""
    return PERMISSIONS[permission].allows(role, policy_roles)


def allowed_roles(permission: Permission, policy_roles: Collection[str]) -> list[str]:
    """The roles of the policy that may use ``permission``, sorted (for docs and errors)."""
    return sorted(r for r in policy_roles if is_allowed(permission, r, policy_roles))
