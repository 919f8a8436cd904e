"""The lifecycle's reads and writes: dispatches, deadlines, notifications and the home's roster."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.alerts._availability import parse_availability
from backend.alerts._ladder import Candidate
from backend.alerts._lifecycle import Case, Deadline, Responder
from backend.alerts._model import DispatchRow, NotificationRow
from backend.storage import Transaction, metadata

__all__ = [
    "all_deadlines",
    "dispatch_alert",
    "get_dispatch",
    "level_of",
    "list_dispatches",
    "list_notifications",
    "load_case",
    "load_responders",
    "load_roster",
    "put_deadlines",
    "save_case",
]

_log = logging.getLogger(__name__)
alert_deadlines = metadata.tables["alert_deadlines"]
dispatches = metadata.tables["dispatches"]
home_responders = metadata.tables["home_responders"]
notifications = metadata.tables["notifications"]
responders = metadata.tables["responders"]
#: Ladder notifications carry their level at the start of their reason ("level 1: ...").
_LEVEL = re.compile(r"^level (\d+):")


def level_of(reason: str) -> int | None:
    """Return the ladder level a notification's reason names, or ``None``."""
    found = _LEVEL.match(reason)
    return int(found.group(1)) if found else None


def _dispatch(r: sa.Row[Any]) -> DispatchRow:
    return DispatchRow(
        r.id,
        r.alert_id,
        r.responder_id,
        r.status,
        r.created_at,
        r.created_by,
        r.accept_by,
        r.accepted_at,
        r.declined_at,
        r.arrived_at,
        r.ended_at,
        r.note,
    )


def _dispatch_values(d: DispatchRow) -> dict[str, Any]:
    return {
        "id": d.id,
        "alert_id": d.alert_id,
        "responder_id": d.responder_id,
        "status": d.status,
        "created_at": d.created_at,
        "created_by": d.created_by,
        "accept_by": d.accept_by,
        "accepted_at": d.accepted_at,
        "declined_at": d.declined_at,
        "arrived_at": d.arrived_at,
        "ended_at": d.ended_at,
        "note": d.note,
    }


def _notification(r: sa.Row[Any]) -> NotificationRow:
    return NotificationRow(
        r.id,
        r.alert_id,
        r.dispatch_id,
        r.recipient,
        r.channel,
        r.status,
        int(r.attempts),
        r.reason,
        r.last_error,
        r.created_at,
        r.updated_at,
    )


def _availability(responder_id: str, doc: Any) -> Any:
    try:
        return parse_availability(doc)
    except ValueError as err:
        # Better to ask someone who may be off duty than to skip them in an emergency.
        _log.warning("responder %s: %s; treated as always available", responder_id, err)
        return None


async def load_roster(conn: AsyncConnection, home: str) -> tuple[Candidate, ...]:
    """Return the responders assigned to ``home``, in rank order."""
    stmt = (
        sa.select(
            responders.c.id,
            responders.c.kind,
            responders.c.availability,
            responders.c.active,
            home_responders.c.rank,
        )
        .join(home_responders, home_responders.c.responder_id == responders.c.id)
        .where(home_responders.c.home == home)
        .order_by(home_responders.c.rank, responders.c.id)
    )
    return tuple(
        Candidate(r.id, r.kind, int(r.rank), _availability(r.id, r.availability), bool(r.active))
        for r in await conn.execute(stmt)
    )


async def load_responders(conn: AsyncConnection, ids: Iterable[str]) -> dict[str, Responder]:
    """Return the responders among ``ids`` that the directory knows."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    stmt = sa.select(responders.c.id, responders.c.kind, responders.c.active).where(
        responders.c.id.in_(wanted)
    )
    return {r.id: Responder(r.id, r.kind, bool(r.active)) for r in await conn.execute(stmt)}


async def load_case(tx: Transaction, alert_id: UUID) -> Case | None:
    """Read an alert and everything its lifecycle needs, or ``None`` if there is no such alert."""
    alert = await tx.get_alert(alert_id)
    if alert is None:
        return None
    conn = tx.conn
    found = tuple(
        _dispatch(r)
        for r in await conn.execute(
            sa.select(dispatches)
            .where(dispatches.c.alert_id == alert_id)
            .order_by(dispatches.c.created_at, dispatches.c.id)
        )
    )
    pending = tuple(
        Deadline(r.name, r.due, int(r.token))
        for r in await conn.execute(
            sa.select(alert_deadlines)
            .where(alert_deadlines.c.alert_id == alert_id)
            .order_by(alert_deadlines.c.name)
        )
    )
    notified = tuple(
        (r.recipient, level_of(r.reason))
        for r in await conn.execute(
            sa.select(notifications.c.recipient, notifications.c.reason)
            .where(notifications.c.alert_id == alert_id)
            .order_by(notifications.c.created_at, notifications.c.id)
        )
    )
    roster = await load_roster(conn, alert.home)
    kinds = {c.id: c.kind for c in roster}
    outside = {d.responder_id for d in found} - kinds.keys()
    kinds.update({r.id: r.kind for r in (await load_responders(conn, outside)).values()})
    return Case(alert, found, pending, notified, roster, kinds)


async def save_case(tx: Transaction, before: Case, after: Case) -> None:
    """Write what changed in dispatches and deadlines between ``before`` and ``after``."""
    old = {d.id: d for d in before.dispatches}
    for dispatch in after.dispatches:
        if dispatch.id not in old:
            await tx.conn.execute(sa.insert(dispatches).values(**_dispatch_values(dispatch)))
        elif old[dispatch.id] != dispatch:
            values = _dispatch_values(dispatch)
            del values["id"]
            await tx.conn.execute(
                sa.update(dispatches).where(dispatches.c.id == dispatch.id).values(**values)
            )
    await put_deadlines(tx, after.alert.id, before.deadlines, after.deadlines)


async def put_deadlines(
    tx: Transaction, alert_id: UUID, before: Sequence[Deadline], after: Sequence[Deadline]
) -> None:
    """Replace an alert's changed deadlines."""
    old = {d.name: d for d in before}
    new = {d.name: d for d in after}
    gone = [name for name, d in old.items() if new.get(name) != d]
    if gone:
        await tx.conn.execute(
            sa.delete(alert_deadlines).where(
                alert_deadlines.c.alert_id == alert_id, alert_deadlines.c.name.in_(gone)
            )
        )
    added = [
        {"alert_id": alert_id, "name": d.name, "due": d.due, "token": d.token}
        for name, d in new.items()
        if old.get(name) != d
    ]
    if added:
        await tx.conn.execute(sa.insert(alert_deadlines).values(added))


async def dispatch_alert(conn: AsyncConnection, dispatch_id: UUID) -> UUID | None:
    """Return the alert a dispatch belongs to, or ``None``."""
    stmt = sa.select(dispatches.c.alert_id).where(dispatches.c.id == dispatch_id)
    row = (await conn.execute(stmt)).first()
    return row.alert_id if row is not None else None


async def all_deadlines(conn: AsyncConnection) -> list[tuple[UUID, str, datetime, int]]:
    """Return every pending alert deadline as ``(alert_id, name, due, token)``, soonest first."""
    stmt = sa.select(alert_deadlines).order_by(alert_deadlines.c.due)
    return [(r.alert_id, r.name, r.due, int(r.token)) for r in await conn.execute(stmt)]


async def list_dispatches(conn: AsyncConnection, alert_id: UUID) -> list[DispatchRow]:
    """Return an alert's dispatches, oldest first."""
    stmt = (
        sa.select(dispatches)
        .where(dispatches.c.alert_id == alert_id)
        .order_by(dispatches.c.created_at, dispatches.c.id)
    )
    return [_dispatch(r) for r in await conn.execute(stmt)]


async def get_dispatch(conn: AsyncConnection, dispatch_id: UUID) -> DispatchRow | None:
    """Return one dispatch, or ``None``."""
    row = (await conn.execute(sa.select(dispatches).where(dispatches.c.id == dispatch_id))).first()
    return _dispatch(row) if row is not None else None


async def list_notifications(conn: AsyncConnection, alert_id: UUID) -> list[NotificationRow]:
    """Return an alert's notifications, oldest first."""
    stmt = (
        sa.select(notifications)
        .where(notifications.c.alert_id == alert_id)
        .order_by(notifications.c.created_at, notifications.c.id)
    )
    return [_notification(r) for r in await conn.execute(stmt)]
