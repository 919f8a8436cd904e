"""Schema revision 0006 on SQLite and PostgreSQL: residents of 0005 read no conditions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig

from backend.directory._queries import get_resident
from backend.storage import Store
from backend.storage._store import _MIGRATIONS

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def _to(revision: str, *, down: bool = False) -> Callable[[sa.Connection], None]:
    def run(connection: sa.Connection) -> None:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(_MIGRATIONS).replace("%", "%%"))
        cfg.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(cfg, revision)

    return run


async def _columns(store: Store) -> set[str]:
    async with store._engine.connect() as conn:
        found = await conn.run_sync(lambda c: sa.inspect(c).get_columns("residents"))
    return {c["name"] for c in found}


async def test_residents_written_before_0006_have_no_conditions(fresh_database_url: str) -> None:
    store = await Store.open(fresh_database_url, migrate=False)
    try:
        async with store._engine.begin() as conn:
            await conn.run_sync(_to("0005"))
            await conn.execute(
                sa.text("INSERT INTO homes (id, first_seen) VALUES ('H1', :now)"), {"now": NOW}
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO residents (id, home, name, created_at)"
                    " VALUES ('P1', 'H1', 'Before', :now)"
                ),
                {"now": NOW},
            )
        assert "conditions" not in await _columns(store)
        await store.migrate()
        async with store.transaction() as tx:
            # A writer that names no conditions (an older process) stores none, not NULL.
            await tx.conn.execute(
                sa.text(
                    "INSERT INTO residents (id, home, name, created_at)"
                    " VALUES ('P2', 'H1', 'Raw', :now)"
                ),
                {"now": NOW},
            )
        async with store.reading() as conn:
            for resident_id in ("P1", "P2"):
                row = await get_resident(conn, resident_id)
                assert row is not None
                assert row.conditions == ()
            nulls = await conn.scalar(
                sa.text("SELECT count(*) FROM residents WHERE conditions IS NULL")
            )
        assert nulls == 0
        async with store._engine.begin() as conn:
            await conn.run_sync(_to("0005", down=True))
        assert "conditions" not in await _columns(store)
        await store.migrate()
        assert "conditions" in await _columns(store)
    finally:
        await store.close()
