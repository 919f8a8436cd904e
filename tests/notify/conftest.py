"""Fixtures of the notification tests: a fresh store, an alert to notify about, responders."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from uuid import UUID

import sqlalchemy as sa

from backend.directory import Directory, ResponderEntry
from backend.notify import (
    DeliveryResult,
    NotificationRequest,
    Notifications,
    NotifySettings,
    Publish,
    insert_pending,
)
from backend.storage import Store
from backend.storage._tables import alerts
from tests.backend.conftest import fresh_database_url, store

__all__ = ["fresh_database_url", "store"]

#: Quick retries, so that a test of three attempts takes milliseconds.
FAST = NotifySettings(max_attempts=3, backoff_s=0.01, backoff_max_s=0.02, timeout_s=5)
NOW = datetime(2026, 11, 23, 7, 42, 10, tzinfo=UTC)


async def add_alert(store: Store, home: str = "H0001", kind: str = "sos") -> UUID:
    """Store an open alert to notify about."""
    alert_id = uuid.uuid4()
    async with store.transaction() as tx:
        await tx.conn.execute(
            sa.insert(alerts).values(
                id=alert_id,
                home=home,
                kind=kind,
                priority=1,
                status="open",
                escalation_level=0,
                opened_at=NOW,
                updated_at=NOW,
                trigger_count=1,
                first_event_id=uuid.uuid4(),
                last_event_id=uuid.uuid4(),
            )
        )
    return alert_id


async def add_responder(store: Store, **fields: object) -> str:
    """Store a responder; ``fields`` are those of ``ResponderEntry``."""
    entry = ResponderEntry.model_validate(
        {"id": f"R{uuid.uuid4().hex[:8]}", "name": "Test Responder", "kind": "family", **fields}
    )
    await Directory(store).create_responder(entry, actor="test", now=NOW)
    return entry.id


async def pending(
    store: Store, alert_id: UUID, recipient: str, home: str = "H0001"
) -> NotificationRequest:
    """Record one pending notification, as the lifecycle does, and return its request."""
    request = NotificationRequest(
        id=uuid.uuid4(),
        alert_id=alert_id,
        recipient=recipient,
        reason="alert opened",
        kind="sos",
        priority=1,
        home=home,
        status="open",
        escalation_level=0,
        created_at=NOW,
    )
    async with store.transaction() as tx:
        await insert_pending(tx, [request])
    return request


@asynccontextmanager
async def running(
    store: Store,
    config: NotifySettings = FAST,
    *,
    publish: Publish | None = None,
    failures: list[DeliveryResult] | None = None,
) -> AsyncIterator[Notifications]:
    """A started notifier whose failures are appended to ``failures``."""

    async def failed(result: DeliveryResult) -> None:
        if failures is not None:
            failures.append(result)

    notifications = Notifications(store, config, publish=publish, on_failure=failed)
    await notifications.start()
    try:
        yield notifications
    finally:
        await notifications.stop()
