"""The ``notifications`` rows: inserted pending by the lifecycle, then updated per attempt."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.notify._model import NotificationRequest
from backend.storage import Transaction
from backend.storage._tables import alerts, notifications

__all__ = [
    "NO_CHANNEL",
    "insert_pending",
    "is_pending",
    "pending_requests",
    "record_attempt",
]

#: The ``channel`` of a row no channel has been tried for yet.
NO_CHANNEL = "none"

_ERROR_MAX = 300


async def insert_pending(tx: Transaction, requests: Sequence[NotificationRequest]) -> None:
    """Record ``requests`` as pending, in the caller's transaction; submit them after commit."""
    if not requests:
        return
    await tx.conn.execute(
        sa.insert(notifications),
        [
            {
                "id": r.id,
                "alert_id": r.alert_id,
                "dispatch_id": r.dispatch_id,
                "recipient": r.recipient,
                "channel": NO_CHANNEL,
                "status": "pending",
                "attempts": 0,
                "reason": r.reason[:200],
                "last_error": None,
                "created_at": r.created_at,
                "updated_at": r.created_at,
            }
            for r in requests
        ],
    )


async def record_attempt(
    conn: AsyncConnection,
    notification_id: UUID,
    *,
    channel: str,
    error: str | None,
    status: Literal["pending", "delivered", "failed"],
    now: datetime,
    count: int = 1,
) -> int | None:
    """Count ``count`` attempts and set the status; return the attempts so far.

    Returns ``None`` when the row is no longer pending (delivered, failed or cancelled
    elsewhere). An earlier attempt's error stays on record when a later one delivers.
    """
    last_error: Any = error[:_ERROR_MAX] if error is not None else notifications.c.last_error
    result = await conn.execute(
        sa.update(notifications)
        .where(notifications.c.id == notification_id, notifications.c.status == "pending")
        .values(
            attempts=notifications.c.attempts + count,
            channel=channel[:16],
            status=status,
            last_error=last_error,
            updated_at=now,
        )
        .returning(notifications.c.attempts)
    )
    attempts = result.scalar_one_or_none()
    return int(attempts) if attempts is not None else None


async def is_pending(conn: AsyncConnection, notification_id: UUID) -> bool:
    """Tell whether a notification is stored and still waits for delivery."""
    stmt = sa.select(notifications.c.status).where(notifications.c.id == notification_id)
    return (await conn.execute(stmt)).scalar_one_or_none() == "pending"


async def pending_requests(conn: AsyncConnection) -> list[NotificationRequest]:
    """Rebuild the requests of every pending row, oldest first, from their alerts' state."""
    stmt = (
        sa.select(
            notifications.c.id,
            notifications.c.alert_id,
            notifications.c.dispatch_id,
            notifications.c.recipient,
            notifications.c.reason,
            notifications.c.created_at,
            alerts.c.kind,
            alerts.c.priority,
            alerts.c.home,
            alerts.c.status,
            alerts.c.escalation_level,
        )
        .join(alerts, alerts.c.id == notifications.c.alert_id)
        .where(notifications.c.status == "pending")
        .order_by(notifications.c.created_at, notifications.c.id)
    )
    return [
        NotificationRequest(
            id=r.id,
            alert_id=r.alert_id,
            recipient=r.recipient,
            reason=r.reason,
            kind=r.kind,
            priority=int(r.priority),
            home=r.home,
            status=r.status,
            escalation_level=int(r.escalation_level),
            created_at=r.created_at,
            dispatch_id=r.dispatch_id,
        )
        for r in await conn.execute(stmt)
    ]
