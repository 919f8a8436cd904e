"""Durable store-and-forward of events: ``put``, ``next_batch``, ``ack``.

An event is written (and fsynced) before anything publishes it, and leaves the
outbox only when ``ack`` is called after the broker's PUBACK. ``seq`` comes from
a counter kept in the same database and advanced in the same transaction as
the insert, so it survives restarts without gaps or repeats.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from uuid import UUID

from pydantic import ValidationError

from gateway._errors import InvalidReadingError, StoreError
from gateway.pipeline import Reading
from protocol import Envelope, decode_envelope, encode_envelope, new_event_id

__all__ = ["Outbox"]

_SEQ = "seq"


class Outbox:
    """The outbox of one home's gateway, on an open store connection."""

    def __init__(self, conn: sqlite3.Connection, home_id: str) -> None:
        self._conn = conn
        self._home = home_id

    def _envelopes(self, readings: Sequence[Reading], first_seq: int) -> list[Envelope]:
        out: list[Envelope] = []
        for i, reading in enumerate(readings):
            try:
                out.append(
                    Envelope(
                        id=new_event_id(),
                        home=self._home,
                        device=reading.device_id,
                        type=reading.type,
                        at=reading.at,
                        seq=first_seq + i,
                        room=reading.room,
                        data=reading.data,
                    )
                )
            except ValidationError as err:
                first = err.errors(include_url=False, include_input=False)[0]
                where = ".".join(str(p) for p in first["loc"])
                raise InvalidReadingError(i, f"{where}: {first['msg']}") from err
        return out

    def put(self, readings: Sequence[Reading]) -> list[Envelope]:
        """Store readings as envelopes in one durable transaction and return them.

        Raises ``InvalidReadingError`` (storing none of them) if one cannot be an envelope.
        """
        if not readings:
            return []
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._conn.execute(
                    "SELECT value FROM counters WHERE name = ?", (_SEQ,)
                ).fetchone()
                first = 0 if row is None else int(row[0])
                envelopes = self._envelopes(readings, first)
                self._conn.executemany(
                    "INSERT INTO outbox (seq, id, body) VALUES (?, ?, ?)",
                    [(e.seq, str(e.id), encode_envelope(e).decode()) for e in envelopes],
                )
                self._conn.execute(
                    "INSERT INTO counters (name, value) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    (_SEQ, first + len(envelopes)),
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        except sqlite3.Error as err:
            raise StoreError(f"cannot store {len(readings)} events: {err}") from err
        return envelopes

    def next_batch(self, limit: int) -> list[Envelope]:
        """Return up to ``limit`` of the oldest unacknowledged envelopes, in ``seq`` order."""
        try:
            rows = self._conn.execute(
                "SELECT body FROM outbox ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        except sqlite3.Error as err:
            raise StoreError(f"cannot read the outbox: {err}") from err
        return [decode_envelope(_loads(body)) for (body,) in rows]

    def ack(self, ids: Iterable[UUID]) -> int:
        """Delete acknowledged envelopes; return how many were removed."""
        keys = [(str(i),) for i in ids]
        if not keys:
            return 0
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            before = self._conn.total_changes
            self._conn.executemany("DELETE FROM outbox WHERE id = ?", keys)
            removed = self._conn.total_changes - before
            self._conn.execute("COMMIT")
        except sqlite3.Error as err:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise StoreError(f"cannot acknowledge {len(keys)} events: {err}") from err
        return removed

    def size(self) -> int:
        """Return how many envelopes wait to be published."""
        try:
            (count,) = self._conn.execute("SELECT count(*) FROM outbox").fetchone()
        except sqlite3.Error as err:
            raise StoreError(f"cannot count the outbox: {err}") from err
        return int(count)

    def next_seq(self) -> int:
        """Return the ``seq`` the next stored event will get."""
        row = self._conn.execute("SELECT value FROM counters WHERE name = ?", (_SEQ,)).fetchone()
        return 0 if row is None else int(row[0])


def _loads(body: str) -> dict[str, object]:
    value = json.loads(body)
    assert isinstance(value, dict)
    return value
