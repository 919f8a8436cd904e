"""The ingest's bulk event insert, written for each database's fastest path.

SQLAlchemy's generic multi-row INSERT spends more time in Python, per row, than the
database spends storing it. Here the rows are turned into driver parameters with the
column types' own bind processors (so the stored form is exactly what SQLAlchemy writes
and reads back), and sent in one statement per database round trip:

- PostgreSQL: ``INSERT ... SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING RETURNING id``,
  one statement with one array per column, whatever the number of rows.
- SQLite: ``INSERT ... VALUES (...), (...) ON CONFLICT DO NOTHING RETURNING id``, up to 500
  rows a statement, handed to aiosqlite directly: each statement through SQLAlchemy's
  adapter costs four thread hops, so fewer hops matter more there than anywhere.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import aiosqlite
import msgspec
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from backend._errors import StorageError
from backend.storage._rows import EventRow
from backend.storage._tables import events

__all__ = ["insert_new_events"]

_COLUMNS = ("id", "home", "device", "type", "at", "received_at", "seq", "room", "data", "raw")
_PG_INSERT = (
    "INSERT INTO events (id, home, device, type, at, received_at, seq, room, data, raw) "
    "SELECT id, home, device, type, at, received_at, seq, room, data::jsonb, raw::jsonb "
    "FROM unnest($1::uuid[], $2::varchar[], $3::varchar[], $4::varchar[], $5::timestamptz[], "
    "$6::timestamptz[], $7::bigint[], $8::varchar[], $9::text[], $10::text[]) "
    "AS rows(id, home, device, type, at, received_at, seq, room, data, raw) "
    "ON CONFLICT (id) DO NOTHING RETURNING id"
)
_SQLITE_INSERT = (
    "INSERT INTO events (id, home, device, type, at, received_at, seq, room, data, raw) VALUES"
)
_SQLITE_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_SQLITE_RETURNING = "ON CONFLICT (id) DO NOTHING RETURNING id"
#: Rows per SQLite statement: 5,000 bound parameters, well under its limit of 32,766.
_SQLITE_CHUNK = 500

_Processor = Callable[[Any], Any]
_processors: dict[str, tuple[_Processor, ...]] = {}


def _identity(value: Any) -> Any:
    return value


def _bind_processors(dialect: Dialect) -> tuple[_Processor, ...]:
    cached = _processors.get(dialect.name)
    if cached is None:
        cached = tuple(
            events.c[name].type.dialect_impl(dialect).bind_processor(dialect) or _identity
            for name in _COLUMNS
        )
        _processors[dialect.name] = cached
    return cached


async def insert_new_events(conn: AsyncConnection, rows: Sequence[EventRow]) -> set[UUID]:
    """Insert ``rows``, skipping ids already stored; return the ids that were new."""
    if not rows:
        return set()
    try:
        if conn.dialect.name == "postgresql":
            return await _postgres(conn, rows)
        return await _sqlite(conn, rows)
    except ValueError as err:  # a column type refused a value, as SQLAlchemy's own insert would
        raise StorageError(f"cannot store an event: {err}") from err


async def _postgres(conn: AsyncConnection, rows: Sequence[EventRow]) -> set[UUID]:
    encode = msgspec.json.encode
    columns = tuple(
        list(c)
        for c in zip(
            *((r.id, r.home, r.device, r.type, r.at, r.received_at, r.seq, r.room) for r in rows),
            strict=True,
        )
    )
    # The timestamps go through the column type's check (aware datetimes only, as UTC).
    at_proc, received_proc = _bind_processors(conn.dialect)[4:6]
    params = (
        *columns[:4],
        [at_proc(v) for v in columns[4]],
        [received_proc(v) for v in columns[5]],
        *columns[6:],
        [encode(r.data).decode() for r in rows],
        [encode(r.raw).decode() for r in rows],
    )
    result = await conn.exec_driver_sql(_PG_INSERT, params)
    return {row[0] for row in result}


async def _sqlite(conn: AsyncConnection, rows: Sequence[EventRow]) -> set[UUID]:
    p_id, _, _, _, p_at, p_received, _, _, p_data, p_raw = _bind_processors(conn.dialect)
    new: set[UUID] = set()
    for start in range(0, len(rows), _SQLITE_CHUNK):
        chunk = rows[start : start + _SQLITE_CHUNK]
        ids: dict[Any, UUID] = {}
        params: list[Any] = []
        for row in chunk:
            key = p_id(row.id)
            ids[key] = row.id
            params += (
                key,
                row.home,
                row.device,
                row.type,
                p_at(row.at),
                p_received(row.received_at),
                row.seq,
                row.room,
                p_data(row.data),
                p_raw(row.raw),
            )
        sql = f"{_SQLITE_INSERT} {', '.join([_SQLITE_ROW] * len(chunk))} {_SQLITE_RETURNING}"
        new.update(ids[row[0]] for row in await _sqlite_fetch(conn, sql, tuple(params)))
    return new


async def _sqlite_fetch(conn: AsyncConnection, sql: str, params: tuple[Any, ...]) -> Any:
    # Straight to aiosqlite: one hop to its thread, where SQLAlchemy's adapter takes four
    # (cursor, execute, fetch, close). The statement joins the transaction the connection
    # is in, since sqlite3 begins one implicitly before the first write, whoever issues it.
    driver = (await conn.get_raw_connection()).driver_connection
    if not isinstance(driver, aiosqlite.Connection):
        return await conn.exec_driver_sql(sql, params)
    try:
        return await driver.execute_fetchall(sql, params)
    except sqlite3.Error as err:
        raise StorageError(f"database error while storing events: {err}") from err
