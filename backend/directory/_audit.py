"""The audit log: who did what to which subject, recorded by id, never with the data itself."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.directory._rows import AuditRow
from backend.storage._tables import audit_log

__all__ = ["READ_PERSONAL_DATA", "append_audit", "list_audit"]

#: The action recorded when someone is shown a resident's (or a home's) personal data.
READ_PERSONAL_DATA = "read_personal_data"


async def append_audit(
    conn: AsyncConnection,
    *,
    at: datetime,
    actor: str,
    action: str,
    subjects: Iterable[tuple[str, str]],
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one row per ``(subject_type, subject_id)``; ``detail`` must hold no personal data."""
    rows = [
        {
            "at": at,
            "actor": actor,
            "action": action,
            "subject_type": kind,
            "subject_id": subject,
            "detail": detail,
        }
        for kind, subject in subjects
    ]
    if rows:
        await conn.execute(sa.insert(audit_log), rows)


async def list_audit(
    conn: AsyncConnection,
    *,
    subject_type: str | None = None,
    subject_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AuditRow], int]:
    """Return audit rows, newest first, and how many match in all."""
    where: list[sa.ColumnElement[bool]] = []
    if subject_type is not None:
        where.append(audit_log.c.subject_type == subject_type)
    if subject_id is not None:
        where.append(audit_log.c.subject_id == subject_id)
    if actor is not None:
        where.append(audit_log.c.actor == actor)
    if action is not None:
        where.append(audit_log.c.action == action)
    total = (
        await conn.execute(sa.select(sa.func.count()).select_from(audit_log).where(*where))
    ).scalar_one()
    stmt = (
        sa.select(audit_log)
        .where(*where)
        .order_by(audit_log.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    rows = [
        AuditRow(r.id, r.at, r.actor, r.action, r.subject_type, r.subject_id, r.detail)
        for r in await conn.execute(stmt)
    ]
    return rows, int(total)
