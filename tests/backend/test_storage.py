"""Storage on SQLite and PostgreSQL: migrations, idempotent inserts, aware UTC times."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from backend.storage import AlertFilter, DeadLetterRow, EventFilter, EventRow, Store, metadata


def _row(home: str = "H1", *, at: datetime | None = None, seq: int = 1) -> EventRow:
    moment = at or datetime(2026, 11, 23, 7, 42, 10, 123000, tzinfo=UTC)
    return EventRow(
        id=uuid.uuid4(),
        home=home,
        device="door-front",
        type="contact",
        at=moment,
        received_at=moment + timedelta(milliseconds=5),
        seq=seq,
        room="entrance",
        data={"open": True},
        raw={"v": 1, "future_field": [1, 2]},
    )


async def test_insert_is_idempotent(store: Store) -> None:
    first, second = _row(seq=1), _row(seq=2)
    async with store.transaction() as tx:
        assert await tx.insert_events([first, second, first]) == {first.id, second.id}
    async with store.transaction() as tx:
        assert await tx.insert_events([first, second]) == set()
    assert await store.count_events() == 2


async def test_events_round_trip_as_aware_utc(store: Store) -> None:
    local = datetime(2026, 11, 23, 9, 42, 10, 123000, tzinfo=timezone(timedelta(hours=2)))
    row = _row(at=local)
    async with store.transaction() as tx:
        await tx.insert_events([row])
    (back,) = await store.list_events(EventFilter(home="H1"))
    assert back.at == local
    assert back.at.tzinfo is not None
    assert back.at.utcoffset() == timedelta(0)
    assert back.raw == {"v": 1, "future_field": [1, 2]}
    assert back.data == {"open": True}


async def test_event_filter_by_time_and_type(store: Store) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [_row(at=base + timedelta(minutes=i), seq=i) for i in range(5)]
    async with store.transaction() as tx:
        await tx.insert_events(rows)
    window = await store.list_events(
        EventFilter(home="H1", since=base + timedelta(minutes=1), until=base + timedelta(minutes=3))
    )
    assert [r.seq for r in window] == [2, 1]
    assert await store.list_events(EventFilter(home="H1", type="sos")) == []


async def test_failed_transaction_writes_nothing(store: Store) -> None:
    row = _row()

    async def write_then_fail() -> None:
        async with store.transaction() as tx:
            await tx.insert_events([row])
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError, match="abort"):
        await write_then_fail()
    assert await store.count_events() == 0


async def test_home_status_upsert(store: Store) -> None:
    now = datetime.now(UTC)
    async with store.transaction() as tx:
        await tx.touch_homes(["H7"], now)
        await tx.update_home_status("H7", online=True, status={"online": True}, now=now)
    async with store.transaction() as tx:
        await tx.update_home_status(
            "H7", online=False, status={"online": False}, now=now + timedelta(seconds=1)
        )
    home = await store.get_home("H7")
    assert home is not None
    assert home.gateway_online is False
    assert home.last_status == {"online": False}
    assert home.first_seen == now


async def test_dead_letters_keep_bytes(store: Store) -> None:
    payload = b"\xff\x00not json"
    async with store.transaction() as tx:
        await tx.add_dead_letter(
            DeadLetterRow(datetime.now(UTC), "mqtt", "homecare/v1/H1/events", "not JSON", payload)
        )
    (dead,) = await store.list_dead_letters()
    assert dead.payload == payload
    assert dead.reason == "not JSON"


async def test_migrations_match_the_tables_and_rerun_cleanly(store: Store) -> None:
    await store.migrate()

    def diff(conn: object) -> list[object]:
        context = MigrationContext.configure(conn)  # type: ignore[arg-type]
        return list(compare_metadata(context, metadata))

    async with store._engine.connect() as conn:
        assert await conn.run_sync(diff) == []
    assert await store.list_alerts(AlertFilter()) == []
