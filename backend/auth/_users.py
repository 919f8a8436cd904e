"""Queries on ``users`` and ``audit_log``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.auth._roles import Role
from backend.storage import Transaction
from backend.storage._tables import audit_log, users

__all__ = [
    "RESERVED_USERNAMES",
    "USERNAME_PATTERN",
    "UserRow",
    "active_admins",
    "append_audit",
    "count_users",
    "get_user",
    "insert_user",
    "list_users",
    "replace_hash",
    "update_user",
]

#: Lower-case letters, digits and ``. _ @ -``; 2 to 64 characters, starting with a letter or digit.
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._@-]{1,63}")
#: Names the audit trail already uses for non-people.
RESERVED_USERNAMES = frozenset({"api-token", "system", "anonymous", "cli"})


@dataclass(frozen=True, slots=True)
class UserRow:
    id: UUID
    username: str
    display_name: str
    role: Role
    password_hash: str
    active: bool
    created_at: datetime


def _user(r: sa.Row[Any]) -> UserRow:
    return UserRow(
        r.id, r.username, r.display_name, Role(r.role), r.password_hash, r.active, r.created_at
    )


async def get_user(conn: AsyncConnection, username: str) -> UserRow | None:
    """Return the user named ``username``, or ``None``."""
    row = (await conn.execute(sa.select(users).where(users.c.username == username))).first()
    return _user(row) if row is not None else None


async def list_users(conn: AsyncConnection, *, limit: int, offset: int) -> list[UserRow]:
    """List users by name."""
    stmt = sa.select(users).order_by(users.c.username).limit(limit).offset(offset)
    return [_user(r) for r in (await conn.execute(stmt)).all()]


async def count_users(conn: AsyncConnection) -> int:
    """Count every user, active or not."""
    return int((await conn.execute(sa.select(sa.func.count()).select_from(users))).scalar_one())


async def active_admins(conn: AsyncConnection) -> list[str]:
    """Return the active admins' names, locking their rows where the database can."""
    stmt = (
        sa.select(users.c.username)
        .where(users.c.role == Role.ADMIN.value, users.c.active.is_(True))
        .with_for_update()
    )
    return list((await conn.execute(stmt)).scalars())


async def insert_user(tx: Transaction, row: UserRow) -> bool:
    """Insert a user; return ``False`` if the name is taken."""
    stmt = (
        tx.insert(users)
        .values(
            id=row.id,
            username=row.username,
            display_name=row.display_name,
            role=row.role.value,
            password_hash=row.password_hash,
            active=row.active,
            created_at=row.created_at,
        )
        .on_conflict_do_nothing(index_elements=["username"])
        .returning(users.c.id)
    )
    return (await tx.conn.execute(stmt)).first() is not None


async def update_user(tx: Transaction, username: str, **values: Any) -> UserRow | None:
    """Set columns of one user; return the updated row, or ``None`` if there is no such user."""
    stmt = sa.update(users).where(users.c.username == username).values(**values).returning(users)
    row = (await tx.conn.execute(stmt)).first()
    return _user(row) if row is not None else None


async def replace_hash(tx: Transaction, username: str, old: str, new: str) -> bool:
    """Swap a password hash for a fresh one of the same password, unless it changed meanwhile."""
    stmt = (
        sa.update(users)
        .where(users.c.username == username, users.c.password_hash == old)
        .values(password_hash=new)
    )
    return bool((await tx.conn.execute(stmt)).rowcount)


async def append_audit(
    tx: Transaction,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry to the audit log; ids only, never personal data or secrets."""
    await tx.conn.execute(
        sa.insert(audit_log).values(
            at=at,
            actor=actor[:64],
            action=action,
            subject_type=subject_type,
            subject_id=subject_id[:64],
            detail=detail,
        )
    )
