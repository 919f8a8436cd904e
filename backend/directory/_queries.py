"""Reads of the directory tables over a connection lent by the store."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.directory._rows import (
    ContactRow,
    HomeEntryRow,
    HomeHealthRow,
    ResidentRow,
    ResponderRow,
    ResponderTaskRow,
)
from backend.storage._tables import (
    alerts,
    dispatches,
    home_responders,
    homes,
    residents,
    responders,
)

__all__ = [
    "contacts_of",
    "count",
    "get_home_entry",
    "get_resident",
    "get_responder",
    "home_health",
    "list_home_entries",
    "list_responders",
    "residents_of",
    "responder_tasks",
]

#: Dispatches still under way: sent and not yet answered, accepted (on the way), arrived.
_UNDER_WAY = ("pending", "accepted", "arrived")


async def count(conn: AsyncConnection, stmt: sa.Select[Any]) -> int:
    """Count the rows ``stmt`` would return."""
    total = await conn.execute(sa.select(sa.func.count()).select_from(stmt.subquery()))
    return int(total.scalar_one())


def _home(r: Any) -> HomeEntryRow:
    return HomeEntryRow(
        r.id, r.label, r.address, r.community, r.first_seen, r.gateway_online, r.last_status_at
    )


_HOME_COLUMNS = (
    homes.c.id,
    homes.c.label,
    homes.c.address,
    homes.c.community,
    homes.c.first_seen,
    homes.c.gateway_online,
    homes.c.last_status_at,
)


async def get_home_entry(conn: AsyncConnection, home: str) -> HomeEntryRow | None:
    """Return a home's directory fields, or ``None``."""
    row = (await conn.execute(sa.select(*_HOME_COLUMNS).where(homes.c.id == home))).first()
    return _home(row) if row is not None else None


async def list_home_entries(
    conn: AsyncConnection, *, limit: int, offset: int
) -> tuple[list[HomeEntryRow], int]:
    """Return homes in id order, and how many there are."""
    stmt = sa.select(*_HOME_COLUMNS)
    total = await count(conn, stmt)
    page = await conn.execute(stmt.order_by(homes.c.id).limit(limit).offset(offset))
    return [_home(r) for r in page], total


def _resident(r: sa.Row[Any]) -> ResidentRow:
    return ResidentRow(
        r.id,
        r.home,
        r.name,
        r.birth_year,
        r.phone,
        r.language,
        r.notes,
        tuple(r.conditions or ()),
        r.created_at,
    )


async def residents_of(conn: AsyncConnection, home: str) -> list[ResidentRow]:
    """Return the residents of a home, in id order."""
    stmt = sa.select(residents).where(residents.c.home == home).order_by(residents.c.id)
    return [_resident(r) for r in await conn.execute(stmt)]


async def get_resident(conn: AsyncConnection, resident_id: str) -> ResidentRow | None:
    """Return one resident, or ``None``."""
    row = (await conn.execute(sa.select(residents).where(residents.c.id == resident_id))).first()
    return _resident(row) if row is not None else None


def _responder(r: sa.Row[Any]) -> ResponderRow:
    return ResponderRow(
        r.id,
        r.name,
        r.kind,
        r.phone,
        r.email,
        tuple(r.channels or ()),
        r.availability,
        bool(r.active),
        r.created_at,
    )


async def get_responder(conn: AsyncConnection, responder_id: str) -> ResponderRow | None:
    """Return one responder, or ``None``."""
    stmt = sa.select(responders).where(responders.c.id == responder_id)
    row = (await conn.execute(stmt)).first()
    return _responder(row) if row is not None else None


async def list_responders(
    conn: AsyncConnection,
    *,
    kind: str | None = None,
    active: bool | None = None,
    limit: int,
    offset: int,
) -> tuple[list[ResponderRow], int]:
    """Return responders in id order, and how many match."""
    stmt = sa.select(responders)
    if kind is not None:
        stmt = stmt.where(responders.c.kind == kind)
    if active is not None:
        stmt = stmt.where(responders.c.active == active)
    total = await count(conn, stmt)
    page = await conn.execute(stmt.order_by(responders.c.id).limit(limit).offset(offset))
    return [_responder(r) for r in page], total


async def contacts_of(conn: AsyncConnection, home: str) -> list[ContactRow]:
    """Return a home's responders in ladder order: rank, then id."""
    stmt = (
        sa.select(home_responders.c.rank, home_responders.c.relation, responders)
        .join(responders, responders.c.id == home_responders.c.responder_id)
        .where(home_responders.c.home == home)
        .order_by(home_responders.c.rank, responders.c.id)
    )
    return [ContactRow(home, r.rank, r.relation, _responder(r)) for r in await conn.execute(stmt)]


async def home_health(conn: AsyncConnection) -> list[HomeHealthRow]:
    """Return every home's gateway state and last status, by community (none last), then id."""
    stmt = sa.select(
        homes.c.id,
        homes.c.label,
        homes.c.community,
        homes.c.gateway_online,
        homes.c.last_status,
        homes.c.last_status_at,
    ).order_by(homes.c.community.is_(None), homes.c.community, homes.c.id)
    return [
        HomeHealthRow(r.id, r.label, r.community, r.gateway_online, r.last_status, r.last_status_at)
        for r in await conn.execute(stmt)
    ]


async def responder_tasks(
    conn: AsyncConnection,
    *,
    responder: str | None,
    live: bool,
    limit: int,
    offset: int,
) -> tuple[list[ResponderTaskRow], int]:
    """Return dispatches with their alerts, newest first, and how many match.

    ``live`` keeps those under way (pending, accepted, arrived) on alerts not yet resolved.
    """
    stmt = sa.select(
        dispatches.c.id,
        dispatches.c.responder_id,
        dispatches.c.status,
        dispatches.c.created_at,
        dispatches.c.accepted_at,
        dispatches.c.arrived_at,
        dispatches.c.alert_id,
        alerts.c.home,
        alerts.c.kind,
        alerts.c.priority,
        alerts.c.status.label("alert_status"),
    ).join(alerts, alerts.c.id == dispatches.c.alert_id)
    if responder is not None:
        stmt = stmt.where(dispatches.c.responder_id == responder)
    if live:
        stmt = stmt.where(dispatches.c.status.in_(_UNDER_WAY), alerts.c.status != "resolved")
    total = await count(conn, stmt)
    page = await conn.execute(
        stmt.order_by(dispatches.c.created_at.desc(), dispatches.c.id).limit(limit).offset(offset)
    )
    rows = [
        ResponderTaskRow(
            r.id,
            r.responder_id,
            r.status,
            r.created_at,
            r.accepted_at,
            r.arrived_at,
            r.alert_id,
            r.home,
            r.kind,
            int(r.priority),
            r.alert_status,
        )
        for r in page
    ]
    return rows, total
