"""Bring the directory tables in line with the seed: add what is missing, change what differs.

The seed adds and updates; it never deletes. Whatever the admin API added stays, and a
row the seed no longer lists is removed through the API. Running the same seed twice
writes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.directory._directory import DirectoryError, resident_values, responder_values
from backend.directory._model import HomeEntry, ResponderEntry
from backend.storage import Store
from backend.storage._tables import home_responders, homes, residents, responders

__all__ = ["DirectorySeed", "SyncReport", "sync_directory"]


@dataclass(frozen=True, slots=True)
class DirectorySeed:
    """The homes and responders a seed file (and the config) lists."""

    homes: tuple[HomeEntry, ...] = ()
    responders: tuple[ResponderEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class SyncReport:
    """How many rows the sync added and changed, per table."""

    added: dict[str, int]
    changed: dict[str, int]

    @property
    def writes(self) -> int:
        return sum(self.added.values()) + sum(self.changed.values())


class _Upserter:
    """Insert a row that is missing, update one whose given columns differ; count both."""

    def __init__(self, conn: AsyncConnection, now: datetime) -> None:
        self._conn = conn
        self._now = now
        self.added: dict[str, int] = {}
        self.changed: dict[str, int] = {}

    async def put(
        self,
        table: sa.Table,
        key: dict[str, Any],
        values: dict[str, Any],
        *,
        on_insert: dict[str, Any],
    ) -> None:
        where = sa.and_(*(table.c[k] == v for k, v in key.items()))
        stmt = sa.select(*(table.c[k] for k in (*key, *values))).where(where)
        row = (await self._conn.execute(stmt)).first()
        if row is None:
            await self._conn.execute(sa.insert(table).values(**key, **values, **on_insert))
            self.added[table.name] = self.added.get(table.name, 0) + 1
            return
        stored = row._asdict()
        differ = {k: v for k, v in values.items() if stored[k] != v}
        if differ:
            await self._conn.execute(sa.update(table).where(where).values(**differ))
            self.changed[table.name] = self.changed.get(table.name, 0) + 1


async def sync_directory(store: Store, seed: DirectorySeed, now: datetime) -> SyncReport:
    """Write the seed's homes, residents, responders and contacts in one transaction."""
    async with store.transaction() as tx:
        up = _Upserter(tx.conn, now)
        for responder in seed.responders:
            await up.put(
                responders,
                {"id": responder.id},
                responder_values(responder),
                on_insert={"created_at": now},
            )
        known = {r.id for r in seed.responders}
        for home in seed.homes:
            given = home.model_fields_set & {"label", "address", "community"}
            await up.put(
                homes,
                {"id": home.id},
                {k: getattr(home, k) for k in sorted(given)},
                on_insert={"first_seen": now},
            )
            for resident in home.residents:
                await up.put(
                    residents,
                    {"id": resident.id},
                    {"home": home.id, **resident_values(resident)},
                    on_insert={"created_at": now},
                )
            for responder_id, rank, relation in home.ranked_contacts():
                if responder_id not in known and not await _responder_exists(tx.conn, responder_id):
                    raise DirectoryError(
                        f"home {home.id}: contact {responder_id!r} is not a known responder; "
                        "fix: list it under responders"
                    )
                await up.put(
                    home_responders,
                    {"home": home.id, "responder_id": responder_id},
                    {"rank": rank, "relation": relation},
                    on_insert={},
                )
        return SyncReport(up.added, up.changed)


async def _responder_exists(conn: AsyncConnection, responder_id: str) -> bool:
    stmt = sa.select(responders.c.id).where(responders.c.id == responder_id)
    return (await conn.execute(stmt)).first() is not None


def merge_seeds(base: Sequence[HomeEntry], override: Sequence[HomeEntry]) -> list[HomeEntry]:
    """Overlay ``override``'s given fields on ``base``'s homes of the same id."""
    merged = {h.id: h for h in base}
    for home in override:
        old = merged.get(home.id)
        if old is None:
            merged[home.id] = home
        else:
            fields = home.model_fields_set - {"id"}
            merged[home.id] = old.model_copy(update={k: getattr(home, k) for k in fields})
    return list(merged.values())
