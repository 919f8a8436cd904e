"""Read the rows of the SLA report (SQLAlchemy Core; SQLite and PostgreSQL alike)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from backend.reports._sla import SlaRow
from backend.storage import Store
from backend.storage._tables import alerts, dispatches, notifications

__all__ = ["Counts", "load_counts", "load_sla_rows"]


async def load_sla_rows(
    store: Store, since: datetime, until: datetime, *, priority: int | None = None
) -> list[SlaRow]:
    """Return the lifecycle times of alerts opened in ``[since, until)``."""
    arrivals = (
        sa.select(dispatches.c.alert_id, sa.func.min(dispatches.c.arrived_at).label("arrived_at"))
        .where(dispatches.c.arrived_at.is_not(None))
        .group_by(dispatches.c.alert_id)
        .subquery("arrivals")
    )
    stmt = (
        sa.select(
            alerts.c.id,
            alerts.c.priority,
            alerts.c.opened_at,
            alerts.c.acknowledged_at,
            alerts.c.acknowledged_by,
            alerts.c.dispatched_at,
            arrivals.c.arrived_at,
            alerts.c.resolved_at,
        )
        .select_from(alerts.outerjoin(arrivals, arrivals.c.alert_id == alerts.c.id))
        .where(alerts.c.opened_at >= since, alerts.c.opened_at < until)
    )
    if priority is not None:
        stmt = stmt.where(alerts.c.priority == priority)
    async with store.reading() as conn:
        result = await conn.execute(stmt)
        return [
            SlaRow(
                alert_id=r.id,
                priority=int(r.priority),
                opened_at=r.opened_at,
                acknowledged_at=r.acknowledged_at,
                acknowledged_by=r.acknowledged_by,
                dispatched_at=r.dispatched_at,
                arrived_at=r.arrived_at,
                resolved_at=r.resolved_at,
            )
            for r in result
        ]


@dataclass(frozen=True, slots=True)
class Counts:
    """Totals read from the database at scrape time, keyed by bounded labels only."""

    #: Alerts by ``(kind, priority, status)``.
    alerts: dict[tuple[str, int, str], int]
    #: Notification records by ``(channel, status)``.
    notifications: dict[tuple[str, str], int]


async def load_counts(store: Store) -> Counts:
    """Count alerts by kind, priority and status, and notifications by channel and status."""
    by_alert = sa.select(
        alerts.c.kind, alerts.c.priority, alerts.c.status, sa.func.count().label("n")
    ).group_by(alerts.c.kind, alerts.c.priority, alerts.c.status)
    by_notification = sa.select(
        notifications.c.channel, notifications.c.status, sa.func.count().label("n")
    ).group_by(notifications.c.channel, notifications.c.status)
    async with store.reading() as conn:
        alert_counts = {
            (r.kind, int(r.priority), r.status): int(r.n) for r in await conn.execute(by_alert)
        }
        notification_counts = {
            (r.channel, r.status): int(r.n) for r in await conn.execute(by_notification)
        }
    return Counts(alerts=alert_counts, notifications=notification_counts)
