"""Fixtures of the report and metrics tests: a fresh store, an app over it, rows put in directly."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from backend.api import create_app
from backend.auth import Authenticator, Users
from backend.hub import Hub
from backend.metrics import MetricsSettings
from backend.storage import Store
from backend.storage._tables import alerts, dispatches, notifications, responders
from tests.backend.conftest import (  # noqa: F401 - fixtures shared with the backend tests
    SECRET_KEY,
    TOKEN,
    backend,
    fresh_database_url,
    gateway,
    store,
)

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def make_app(db: Store, metrics: MetricsSettings | None = None) -> FastAPI:
    """The API app over ``db``, guarded by the test token and operator accounts."""
    auth = Authenticator(Users(db), SECRET_KEY)
    return create_app(db, Hub(), TOKEN, metrics=metrics, auth=auth)


def client_for(app: FastAPI, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """An in-process client whose requests come from ``address``."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://backend.test", timeout=10)


@pytest.fixture
async def client(store: Store) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811 - fixture
    async with client_for(make_app(store)) as c:
        yield c


async def add_alert(
    db: Store,
    opened_at: datetime,
    *,
    home: str | None = None,
    kind: str = "sos",
    priority: int = 1,
    ack_after: float | None = None,
    by: str | None = None,
    dispatch_after: float | None = None,
    arrivals_after: tuple[float | None, ...] = (),
    resolve_after: float | None = None,
) -> uuid.UUID:
    """Insert an alert with its lifecycle times (seconds after opening) and dispatches."""

    def after(seconds: float | None) -> datetime | None:
        return None if seconds is None else opened_at + timedelta(seconds=seconds)

    alert_id = uuid.uuid4()
    status = (
        "resolved"
        if resolve_after is not None
        else "dispatched"
        if dispatch_after is not None
        else "acknowledged"
        if ack_after is not None
        else "open"
    )
    async with db.transaction() as tx:
        await tx.conn.execute(
            sa.insert(alerts).values(
                id=alert_id,
                home=home or f"H{uuid.uuid4().hex[:10]}",
                kind=kind,
                priority=priority,
                status=status,
                escalation_level=0,
                opened_at=opened_at,
                updated_at=opened_at,
                trigger_count=1,
                first_event_id=uuid.uuid4(),
                last_event_id=uuid.uuid4(),
                acknowledged_at=after(ack_after),
                acknowledged_by=by if ack_after is not None else None,
                dispatched_at=after(dispatch_after),
                resolved_at=after(resolve_after),
            )
        )
        for arrival in arrivals_after:
            responder = f"R{uuid.uuid4().hex[:10]}"
            await tx.conn.execute(
                sa.insert(responders).values(
                    id=responder,
                    name="Responder",
                    kind="community_worker",
                    channels=[],
                    active=True,
                    created_at=opened_at,
                )
            )
            await tx.conn.execute(
                sa.insert(dispatches).values(
                    id=uuid.uuid4(),
                    alert_id=alert_id,
                    responder_id=responder,
                    status="arrived" if arrival is not None else "declined",
                    created_at=after(dispatch_after or 0),
                    created_by="test",
                    arrived_at=after(arrival),
                )
            )
    return alert_id


async def add_notification(db: Store, alert_id: uuid.UUID, channel: str, status: str) -> None:
    """Insert one notification record of an alert."""
    async with db.transaction() as tx:
        now = datetime.now().astimezone()
        await tx.conn.execute(
            sa.insert(notifications).values(
                id=uuid.uuid4(),
                alert_id=alert_id,
                recipient="queue:operator",
                channel=channel,
                status=status,
                attempts=1,
                reason="opened",
                created_at=now,
                updated_at=now,
            )
        )
