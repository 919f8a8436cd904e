"""The routes of ``/api/v1``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, WebSocket, WebSocketDisconnect

from backend._errors import StorageError
from backend.alerts import AlertKind, AlertStatus, list_dispatches, list_notifications
from backend.api._deps import Authorized, ContextDep, HubDep, StoreDep, identify
from backend.api._problems import Problem
from backend.api._schemas import (
    AlertDetailOut,
    AlertOut,
    AlertPage,
    DispatchOut,
    EventOut,
    EventPage,
    HealthOut,
    NotificationOut,
    StreamAlertMessage,
    TransitionOut,
)
from backend.hub import Subscription
from backend.storage import AlertFilter, EventFilter
from protocol import HOME_ID_PATTERN, EventType

__all__ = ["open_router", "protected_router", "stream_router"]

_log = logging.getLogger(__name__)

# WebSocket close codes (RFC 6455): policy violation, going away, try again later.
_WS_POLICY = 1008
_WS_GOING_AWAY = 1001
_WS_TRY_LATER = 1013

open_router = APIRouter()
protected_router = APIRouter(dependencies=[Authorized])
stream_router = APIRouter()

Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000)]
HomeId = Annotated[str, Path(pattern=f"^{HOME_ID_PATTERN.pattern}$")]


def _unavailable(err: StorageError) -> Problem:
    _log.warning("API request failed on storage: %s", err)
    return Problem(503, "the database is unavailable; retry shortly")


@open_router.get("/healthz")
async def healthz(context: ContextDep) -> HealthOut:
    """Answer whether the backend can reach its database (no authentication)."""
    try:
        await context.store.ping()
    except StorageError as err:
        raise _unavailable(err) from err
    connected = context.mqtt_connected() if context.mqtt_connected is not None else None
    return HealthOut(status="ok", mqtt_connected=connected)


@protected_router.get("/alerts")
async def list_alerts(
    store: StoreDep,
    *,
    status: AlertStatus | None = None,
    home: Annotated[str | None, Query(pattern=f"^{HOME_ID_PATTERN.pattern}$")] = None,
    kind: AlertKind | None = None,
    priority: Annotated[int | None, Query(ge=1, le=3)] = None,
    limit: Limit = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> AlertPage:
    """List alerts, newest first; ``total`` counts every alert the filters select."""
    where = AlertFilter(
        status=status.value if status else None,
        home=home,
        kind=kind.value if kind else None,
        priority=priority,
    )
    try:
        rows = await store.list_alerts(where, limit=limit, offset=offset)
        total = await store.count_alerts(where)
    except StorageError as err:
        raise _unavailable(err) from err
    return AlertPage(
        items=[AlertOut.from_row(r) for r in rows], total=total, limit=limit, offset=offset
    )


@protected_router.get("/alerts/{alert_id}")
async def get_alert(store: StoreDep, alert_id: UUID) -> AlertDetailOut:
    """Return one alert: its timeline, triggering events, dispatches and notifications."""
    try:
        row = await store.get_alert(alert_id)
        if row is None:
            raise Problem(404, f"no alert {alert_id}")
        transitions = await store.alert_transitions(alert_id)
        events = await store.alert_events(alert_id)
        async with store.reading() as conn:
            dispatches = await list_dispatches(conn, alert_id)
            notifications = await list_notifications(conn, alert_id)
    except StorageError as err:
        raise _unavailable(err) from err
    return AlertDetailOut(
        **AlertOut.from_row(row).model_dump(),
        transitions=[TransitionOut.from_row(t) for t in transitions],
        events=[EventOut.from_row(e) for e in events],
        dispatches=[DispatchOut.from_row(d) for d in dispatches],
        notifications=[NotificationOut.from_row(n) for n in notifications],
        failed_notifications=sum(1 for n in notifications if n.status == "failed"),
    )


@protected_router.get("/homes/{home_id}/events")
async def list_home_events(
    store: StoreDep,
    home_id: HomeId,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    type: EventType | None = None,  # noqa: A002 - the documented query parameter
    limit: Limit = 100,
    offset: Offset = 0,
) -> EventPage:
    """List one home's events, newest first; ``since`` is inclusive, ``until`` exclusive."""
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise Problem(422, f"{name} must carry a time zone, for example a trailing Z")
    where = EventFilter(
        home=home_id, since=since, until=until, type=type.value if type is not None else None
    )
    try:
        rows = await store.list_events(where, limit=limit, offset=offset)
    except StorageError as err:
        raise _unavailable(err) from err
    return EventPage(items=[EventOut.from_row(r) for r in rows], limit=limit, offset=offset)


#: A browser cannot set WebSocket headers: it may offer ``["bearer", <token>]`` as subprotocols.
_WS_BEARER = "bearer"


def _presented_token(websocket: WebSocket) -> str | None:
    header = websocket.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else None
    offered = list(websocket.scope.get("subprotocols") or ())
    if _WS_BEARER in offered and offered.index(_WS_BEARER) + 1 < len(offered):
        return str(offered[offered.index(_WS_BEARER) + 1])
    return websocket.query_params.get("token")


async def _watch_disconnect(websocket: WebSocket, sub: Subscription) -> None:
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        sub.close()


@stream_router.websocket("/stream")
async def stream(websocket: WebSocket, context: ContextDep, hub: HubDep) -> None:
    """Send each alert change as JSON; the token: a bearer header, subprotocol or ``?token=``."""
    given = _presented_token(websocket)
    offered = websocket.scope.get("subprotocols") or ()
    # Subscribed before the handshake completes: a client that refetches on open then misses
    # nothing that changes between its fetch and its first message. Until the token checks
    # out, what the subscription gathers is only held, never sent.
    with hub.subscribe() as sub:
        await websocket.accept(subprotocol=_WS_BEARER if _WS_BEARER in offered else None)
        try:
            await identify(context, given)
        except Problem as err:
            code = _WS_POLICY if err.status == 401 else _WS_TRY_LATER
            await websocket.close(code=code, reason=err.detail[:120])
            return
        watcher = asyncio.create_task(_watch_disconnect(websocket, sub))
        try:
            async for change in sub:
                await websocket.send_text(StreamAlertMessage.from_change(change).model_dump_json())
            if not watcher.done():
                code = _WS_TRY_LATER if sub.lagged else _WS_GOING_AWAY
                with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                    await websocket.close(code=code)
        except (WebSocketDisconnect, OSError):
            pass
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
