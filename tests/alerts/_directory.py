"""Write a home's responders straight into the tables, as the directory would."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from backend.storage import Store, metadata

HOMES = metadata.tables["homes"]
RESPONDERS = metadata.tables["responders"]
HOME_RESPONDERS = metadata.tables["home_responders"]


async def add_roster(
    store: Store,
    home: str,
    roster: Sequence[tuple[str, str, int]],
    *,
    availability: dict[str, Any] | None = None,
    channels: list[dict[str, Any]] | None = None,
) -> None:
    """Assign responders ``(id, kind, rank)`` to ``home``, creating what is missing.

    ``channels`` are every new responder's notification channels (none by default).
    """
    now = datetime.now(UTC)
    async with store.transaction() as tx:
        await tx.touch_homes([home], now)
        for responder_id, kind, rank in roster:
            exists = (
                await tx.conn.execute(
                    sa.select(RESPONDERS.c.id).where(RESPONDERS.c.id == responder_id)
                )
            ).first()
            if exists is None:
                await tx.conn.execute(
                    sa.insert(RESPONDERS).values(
                        id=responder_id,
                        name=f"Responder {responder_id}",
                        kind=kind,
                        channels=channels or [],
                        availability=(availability or {}).get(responder_id),
                        active=True,
                        created_at=now,
                    )
                )
            await tx.conn.execute(
                sa.insert(HOME_RESPONDERS).values(
                    home=home, responder_id=responder_id, rank=rank, relation=None
                )
            )
