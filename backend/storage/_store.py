"""The store: an async engine, its migrations, and the queries the backend runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from backend._errors import StorageError
from backend.storage._bulk import insert_new_events
from backend.storage._rows import (
    AlertFilter,
    AlertRow,
    DeadLetterRow,
    EventFilter,
    EventRow,
    HomeRow,
    TransitionRow,
    VisitRow,
)
from backend.storage._tables import (
    alert_deadlines,
    alert_events,
    alert_transitions,
    alerts,
    dead_letters,
    detector_deadlines,
    detector_states,
    dispatches,
    events,
    homes,
    visits,
)

__all__ = ["Store", "Transaction"]

_log = logging.getLogger(__name__)
_MIGRATIONS = Path(__file__).parent / "migrations"
#: Upsert statements, built once per dialect (see ``Transaction._upsert``).
_UPSERTS: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], Any] = {}


@contextmanager
def _translated(action: str) -> Iterator[None]:
    try:
        yield
    except (SQLAlchemyError, OSError) as err:
        raise StorageError(f"database error while {action}: {err}") from err


def _json_text(value: Any) -> str:
    # JSON columns are written with every batch (events, detector states, numbering);
    # msgspec's encoder does it several times faster than the standard library's.
    return msgspec.json.encode(value).decode()


def _prepare_sqlite_path(url: sa.URL) -> None:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while ingest writes; NORMAL survives crashes and may
    # lose only the last commits on power loss (see docs/backend.md).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _upgrade(connection: sa.Connection) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_MIGRATIONS).replace("%", "%%"))
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


class Store:
    """The backend's database: SQLite (default) or PostgreSQL, chosen by URL."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # SQLite has one writer at a time. Left to itself, a second writer polls the file
        # lock with sleeps that grow to 100 ms (its busy handler), and a transaction that
        # read before it wrote can fail outright; queueing writers here, first come first
        # served, costs them only the wait. Readers never queue: WAL lets them read alongside.
        self._write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True) -> Store:
        """Connect to ``url`` and, unless told not to, migrate the schema to the newest revision."""
        try:
            parsed = make_url(url)
        except ArgumentError as err:
            raise StorageError(f"not a database URL: {err}") from err
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            raise StorageError(f"unsupported database {parsed.get_backend_name()!r}")
        if parsed.get_backend_name() == "sqlite":
            _prepare_sqlite_path(parsed)
        try:
            # A server can go away between two uses of a pooled connection; a file cannot,
            # so SQLite skips the ping, which costs each transaction a round trip.
            engine = create_async_engine(
                parsed,
                pool_pre_ping=parsed.get_backend_name() != "sqlite",
                json_serializer=_json_text,
                json_deserializer=msgspec.json.decode,
            )
        except (ArgumentError, ImportError) as err:
            raise StorageError(f"cannot use database URL: {err}") from err
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        store = cls(engine)
        if migrate:
            try:
                await store.migrate()
            except BaseException:
                await engine.dispose()
                raise
        return store

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    async def migrate(self) -> None:
        """Upgrade the schema to the newest revision."""
        with _translated("migrating the schema"):
            async with self._engine.begin() as conn:
                await conn.run_sync(_upgrade)

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._engine.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """Run writes in one transaction, committed when the block ends without error."""
        lock = self._write_lock if self._write_lock is not None else contextlib.nullcontext()
        async with lock:
            with _translated("writing"):
                async with self._engine.begin() as conn:
                    yield Transaction(conn)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """Lend a connection for reads that a domain package writes itself."""
        with _translated("reading"):
            async with self._engine.connect() as conn:
                yield conn

    async def ping(self) -> None:
        """Check that the database answers."""
        with _translated("pinging"):
            async with self._engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))

    # -- reads -----------------------------------------------------------------

    async def _all(self, stmt: sa.Select[Any], action: str) -> Sequence[sa.Row[Any]]:
        with _translated(action):
            async with self._engine.connect() as conn:
                rows: Sequence[sa.Row[Any]] = (await conn.execute(stmt)).all()
                return rows

    async def list_alerts(
        self, where: AlertFilter, *, limit: int = 100, offset: int = 0
    ) -> list[AlertRow]:
        """List alerts, newest first."""
        stmt = _alert_filter(sa.select(alerts), where)
        stmt = stmt.order_by(alerts.c.opened_at.desc(), alerts.c.id.desc())
        rows = await self._all(stmt.limit(limit).offset(offset), "listing alerts")
        return [_alert(r) for r in rows]

    async def count_alerts(self, where: AlertFilter) -> int:
        """Count the alerts that ``where`` selects."""
        stmt = _alert_filter(sa.select(sa.func.count()).select_from(alerts), where)
        rows = await self._all(stmt, "counting alerts")
        return int(rows[0][0])

    async def get_alert(self, alert_id: UUID) -> AlertRow | None:
        """Return one alert, or ``None``."""
        rows = await self._all(sa.select(alerts).where(alerts.c.id == alert_id), "reading an alert")
        return _alert(rows[0]) if rows else None

    async def alert_transitions(self, alert_id: UUID) -> list[TransitionRow]:
        """Return an alert's audit trail, oldest first."""
        stmt = (
            sa.select(alert_transitions)
            .where(alert_transitions.c.alert_id == alert_id)
            .order_by(alert_transitions.c.id)
        )
        return [_transition(r) for r in await self._all(stmt, "reading transitions")]

    async def alert_events(self, alert_id: UUID) -> list[EventRow]:
        """Return the events that triggered an alert, oldest first."""
        stmt = (
            sa.select(events)
            .join(alert_events, alert_events.c.event_id == events.c.id)
            .where(alert_events.c.alert_id == alert_id)
            .order_by(events.c.at, events.c.seq)
        )
        return [_event(r) for r in await self._all(stmt, "reading alert events")]

    async def list_events(
        self, where: EventFilter, *, limit: int = 100, offset: int = 0
    ) -> list[EventRow]:
        """List the events of one home, newest first."""
        stmt = sa.select(events).where(events.c.home == where.home)
        if where.since is not None:
            stmt = stmt.where(events.c.at >= where.since)
        if where.until is not None:
            stmt = stmt.where(events.c.at < where.until)
        if where.type is not None:
            stmt = stmt.where(events.c.type == where.type)
        stmt = stmt.order_by(events.c.at.desc(), events.c.seq.desc()).limit(limit).offset(offset)
        return [_event(r) for r in await self._all(stmt, "listing events")]

    async def count_events(self, home: str | None = None) -> int:
        """Count stored events, of one home or of all."""
        stmt = sa.select(sa.func.count()).select_from(events)
        if home is not None:
            stmt = stmt.where(events.c.home == home)
        rows = await self._all(stmt, "counting events")
        return int(rows[0][0])

    async def get_home(self, home: str) -> HomeRow | None:
        """Return what is known of a home, or ``None``."""
        rows = await self._all(sa.select(homes).where(homes.c.id == home), "reading a home")
        if not rows:
            return None
        r = rows[0]
        return HomeRow(
            r.id, r.first_seen, r.gateway_online, r.last_status, r.last_status_at, r.sequence
        )

    async def pending_deadlines(self) -> list[tuple[str, str, datetime, int]]:
        """Return every pending detector deadline as ``(home, name, due, token)``, soonest first."""
        stmt = sa.select(detector_deadlines).order_by(detector_deadlines.c.due)
        rows = await self._all(stmt, "reading deadlines")
        return [(r.home, r.name, r.due, int(r.token)) for r in rows]

    async def get_visit(self, visit_id: UUID) -> VisitRow | None:
        """Return one care visit, or ``None``."""
        rows = await self._all(sa.select(visits).where(visits.c.id == visit_id), "reading a visit")
        return _visit(rows[0]) if rows else None

    async def list_visits(self, home: str, *, limit: int = 100, offset: int = 0) -> list[VisitRow]:
        """List the care visits of one home, newest first."""
        stmt = (
            sa.select(visits)
            .where(visits.c.home == home)
            .order_by(visits.c.started_at.desc(), visits.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [_visit(r) for r in await self._all(stmt, "listing visits")]

    async def list_dead_letters(self, *, limit: int = 100) -> list[DeadLetterRow]:
        """List dead letters, newest first."""
        stmt = sa.select(dead_letters).order_by(dead_letters.c.id.desc()).limit(limit)
        return [
            DeadLetterRow(r.at, r.source, r.topic, r.reason, r.payload)
            for r in await self._all(stmt, "listing dead letters")
        ]


class Transaction:
    """Writes inside one open transaction of a ``Store``."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        dialect = conn.dialect.name
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    @property
    def conn(self) -> AsyncConnection:
        """The open connection, for writes that a domain package writes itself."""
        return self._conn

    @property
    def insert(self) -> Any:
        """The dialect's INSERT construct, which has ``on_conflict_do_*``."""
        return self._insert

    def _upsert(self, table: sa.Table, key: tuple[str, ...], update: tuple[str, ...]) -> Any:
        """Return ``INSERT ... ON CONFLICT (key) DO UPDATE SET update``, built once per dialect.

        Building one anew costs more than running it: ``excluded`` copies the table's columns.
        """
        cache_key = (self._conn.dialect.name, table.name, key, update)
        stmt = _UPSERTS.get(cache_key)
        if stmt is None:
            stmt = self._insert(table)
            stmt = stmt.on_conflict_do_update(
                index_elements=list(key), set_={c: stmt.excluded[c] for c in update}
            )
            _UPSERTS[cache_key] = stmt
        return stmt

    async def insert_events(self, rows: Sequence[EventRow]) -> set[UUID]:
        """Insert events, skipping ids already stored; return the ids that were new."""
        return await insert_new_events(self._conn, rows)

    async def touch_homes(self, home_ids: Iterable[str], now: datetime) -> None:
        """Record homes seen for the first time."""
        values = [{"id": h, "first_seen": now} for h in sorted(set(home_ids))]
        if values:
            stmt = self._insert(homes).on_conflict_do_nothing(index_elements=["id"])
            await self._conn.execute(stmt, values)

    async def get_sequences(self, home_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Return the stored event numbering of each home that has one."""
        wanted = sorted(set(home_ids))
        if not wanted:
            return {}
        stmt = sa.select(homes.c.id, homes.c.sequence).where(
            homes.c.id.in_(sa.bindparam("ids", expanding=True))
        )
        result = await self._conn.execute(stmt, {"ids": wanted})
        return {r.id: r.sequence for r in result if r.sequence is not None}

    async def set_sequences(self, sequences: dict[str, dict[str, Any]], now: datetime) -> None:
        """Store the event numbering of homes; a home not yet recorded is, as first seen now."""
        if not sequences:
            return
        await self._conn.execute(
            self._upsert(homes, ("id",), ("sequence",)),
            [{"id": h, "first_seen": now, "sequence": doc} for h, doc in sorted(sequences.items())],
        )

    async def update_home_status(
        self, home: str, *, online: bool, status: dict[str, Any], now: datetime
    ) -> None:
        """Store a gateway's latest status."""
        stmt = self._insert(homes).values(
            id=home, first_seen=now, gateway_online=online, last_status=status, last_status_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={
                "gateway_online": stmt.excluded.gateway_online,
                "last_status": stmt.excluded.last_status,
                "last_status_at": stmt.excluded.last_status_at,
            },
        )
        await self._conn.execute(stmt)

    async def add_dead_letter(self, row: DeadLetterRow) -> None:
        """Keep a rejected input with its reason."""
        await self._conn.execute(
            sa.insert(dead_letters).values(
                at=row.at,
                source=row.source,
                topic=row.topic,
                reason=row.reason,
                payload=row.payload,
            )
        )

    async def find_unresolved_alert(self, home: str, kind: str) -> AlertRow | None:
        """Return the unresolved alert of ``kind`` in ``home``, if any."""
        stmt = sa.select(alerts).where(
            alerts.c.home == home, alerts.c.kind == kind, alerts.c.status != "resolved"
        )
        row = (await self._conn.execute(stmt)).first()
        return _alert(row) if row is not None else None

    async def get_alert(self, alert_id: UUID) -> AlertRow | None:
        """Return one alert as this transaction sees it, or ``None``."""
        row = (await self._conn.execute(sa.select(alerts).where(alerts.c.id == alert_id))).first()
        return _alert(row) if row is not None else None

    async def save_alert(self, row: AlertRow, *, expected_version: int) -> bool:
        """Overwrite an alert if it is still at ``expected_version``; ``False`` if it moved on."""
        values = _alert_values(row)
        del values["id"]
        result = await self._conn.execute(
            sa.update(alerts)
            .where(alerts.c.id == row.id, alerts.c.version == expected_version)
            .values(**values)
        )
        return bool(result.rowcount)

    async def insert_alert(self, row: AlertRow) -> None:
        """Insert a new alert."""
        await self._conn.execute(sa.insert(alerts).values(**_alert_values(row)))

    async def update_alert(self, row: AlertRow) -> None:
        """Overwrite an alert's mutable fields (its version rises by one)."""
        values = _alert_values(row)
        del values["id"]
        values["version"] = alerts.c.version + 1
        await self._conn.execute(sa.update(alerts).where(alerts.c.id == row.id).values(**values))

    async def attach_trigger(self, row: AlertRow) -> None:
        """Record a further trigger on an alert: priority, count, last event, time.

        The lifecycle's own fields are left alone, so a trigger attached while an operator
        acts cannot undo the operator's change; the version rises, so that an operator who
        read the alert before the trigger retries on the fresh row.
        """
        await self._conn.execute(
            sa.update(alerts)
            .where(alerts.c.id == row.id)
            .values(
                priority=row.priority,
                trigger_count=row.trigger_count,
                last_event_id=row.last_event_id,
                updated_at=row.updated_at,
                version=alerts.c.version + 1,
            )
        )

    async def link_event(self, alert_id: UUID, event_id: UUID) -> None:
        """Record that an event triggered an alert."""
        stmt = (
            self._insert(alert_events)
            .values(alert_id=alert_id, event_id=event_id)
            .on_conflict_do_nothing(index_elements=["alert_id", "event_id"])
        )
        await self._conn.execute(stmt)

    async def add_transition(self, row: TransitionRow) -> None:
        """Append to an alert's audit trail."""
        await self._conn.execute(
            sa.insert(alert_transitions).values(
                alert_id=row.alert_id,
                at=row.at,
                actor=row.actor,
                from_status=row.from_status,
                to_status=row.to_status,
                reason=row.reason,
                action=row.action,
                escalation_level=row.escalation_level,
            )
        )

    async def resolve_alert(self, row: AlertRow, transition: TransitionRow) -> None:
        """Resolve an alert whose condition cleared, and record why, in the audit trail.

        Its pending deadlines go and its live dispatches are cancelled with it.
        """
        await self._conn.execute(
            sa.update(alerts)
            .where(alerts.c.id == row.id)
            .values(
                status=row.status,
                updated_at=row.updated_at,
                resolved_at=row.resolved_at,
                resolved_by=row.resolved_by,
                outcome=row.outcome,
                resolution_note=row.resolution_note,
                version=alerts.c.version + 1,
            )
        )
        await self._conn.execute(
            sa.delete(alert_deadlines).where(alert_deadlines.c.alert_id == row.id)
        )
        await self._conn.execute(
            sa.update(dispatches)
            .where(
                dispatches.c.alert_id == row.id,
                dispatches.c.status.in_(("pending", "accepted")),
            )
            .values(status="cancelled", ended_at=transition.at)
        )
        await self.add_transition(transition)

    async def get_detector_states(self, home_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Return the stored detector state document of each home that has one."""
        wanted = sorted(set(home_ids))
        if not wanted:
            return {}
        stmt = sa.select(detector_states.c.home, detector_states.c.state).where(
            detector_states.c.home.in_(wanted)
        )
        return {r.home: r.state for r in await self._conn.execute(stmt)}

    async def put_detector_states(
        self,
        states: dict[str, tuple[dict[str, Any], list[tuple[str, datetime, int]]]],
        now: datetime,
    ) -> None:
        """Store each home's state document; replace its deadlines ``(name, due, token)``."""
        if not states:
            return
        homes_ = sorted(states)
        # Statements without inline rows, sent with executemany: SQLAlchemy compiles each
        # once, whatever the number of homes (the ingest writes these with every batch).
        await self._conn.execute(
            self._upsert(detector_states, ("home",), ("state", "updated_at")),
            [{"home": h, "state": states[h][0], "updated_at": now} for h in homes_],
        )
        await self._conn.execute(
            sa.delete(detector_deadlines).where(
                detector_deadlines.c.home.in_(sa.bindparam("homes", expanding=True))
            ),
            {"homes": homes_},
        )
        rows = [
            {"home": h, "name": name, "due": due, "token": token}
            for h in homes_
            for name, due, token in states[h][1]
        ]
        if rows:
            await self._conn.execute(sa.insert(detector_deadlines), rows)

    async def insert_visit(self, row: VisitRow) -> None:
        """Record a care visit's check-in."""
        await self._conn.execute(
            sa.insert(visits).values(
                id=row.id,
                home=row.home,
                started_at=row.started_at,
                ended_at=row.ended_at,
                carer=row.carer,
                note=row.note,
            )
        )

    async def end_visit(self, visit_id: UUID, ended_at: datetime) -> bool:
        """Record a visit's check-out; return ``False`` if it was already over."""
        result = await self._conn.execute(
            sa.update(visits)
            .where(visits.c.id == visit_id, visits.c.ended_at.is_(None))
            .values(ended_at=ended_at)
        )
        return bool(result.rowcount)


def _alert_filter(stmt: sa.Select[Any], where: AlertFilter) -> sa.Select[Any]:
    if where.status is not None:
        stmt = stmt.where(alerts.c.status == where.status)
    if where.home is not None:
        stmt = stmt.where(alerts.c.home == where.home)
    if where.kind is not None:
        stmt = stmt.where(alerts.c.kind == where.kind)
    if where.priority is not None:
        stmt = stmt.where(alerts.c.priority == where.priority)
    return stmt


def _visit(r: sa.Row[Any]) -> VisitRow:
    return VisitRow(r.id, r.home, r.started_at, r.ended_at, r.carer, r.note)


def _alert_values(r: AlertRow) -> dict[str, Any]:
    return {
        "id": r.id,
        "home": r.home,
        "kind": r.kind,
        "priority": r.priority,
        "status": r.status,
        "escalation_level": r.escalation_level,
        "opened_at": r.opened_at,
        "updated_at": r.updated_at,
        "trigger_count": r.trigger_count,
        "first_event_id": r.first_event_id,
        "last_event_id": r.last_event_id,
        "version": r.version,
        "assignee": r.assignee,
        "acknowledged_at": r.acknowledged_at,
        "acknowledged_by": r.acknowledged_by,
        "dispatched_at": r.dispatched_at,
        "resolved_at": r.resolved_at,
        "resolved_by": r.resolved_by,
        "outcome": r.outcome,
        "resolution_note": r.resolution_note,
    }


def _event(r: sa.Row[Any]) -> EventRow:
    return EventRow(
        r.id, r.home, r.device, r.type, r.at, r.received_at, r.seq, r.room, r.data, r.raw
    )


def _alert(r: sa.Row[Any]) -> AlertRow:
    return AlertRow(
        r.id,
        r.home,
        r.kind,
        r.priority,
        r.status,
        r.escalation_level,
        r.opened_at,
        r.updated_at,
        r.trigger_count,
        r.first_event_id,
        r.last_event_id,
        r.version,
        r.assignee,
        r.acknowledged_at,
        r.acknowledged_by,
        r.dispatched_at,
        r.resolved_at,
        r.resolved_by,
        r.outcome,
        r.resolution_note,
    )


def _transition(r: sa.Row[Any]) -> TransitionRow:
    return TransitionRow(
        r.alert_id,
        r.at,
        r.actor,
        r.from_status,
        r.to_status,
        r.reason,
        r.action,
        r.escalation_level,
    )
