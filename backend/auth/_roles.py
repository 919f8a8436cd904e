"""Roles and the principal a request acts as."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["SERVICE", "Principal", "Role"]


class Role(StrEnum):
    """What a signed-in person may do; each role may do everything the one before may."""

    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Role.OPERATOR: 1, Role.SUPERVISOR: 2, Role.ADMIN: 3}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the name recorded in the audit trail, and their role."""

    username: str
    role: Role

    def may(self, role: Role) -> bool:
        """Tell whether this principal holds ``role`` or a higher one."""
        return self.role.rank >= role.rank


#: The principal of the backend's configured service token (automation, not a person).
SERVICE = Principal("api-token", Role.ADMIN)
