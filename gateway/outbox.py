"""Durable store-and-forward of events: ``put``, ``next_pending``, ``ack``.

An event is written (and fsynced) before anything publishes it, and leaves the
outbox only when it is acknowledged after the broker's PUBACK. ``seq`` comes
from a counter kept in the same database and advanced in the same transaction
as the insert, so it survives restarts without gaps or repeats.

The outbox is bounded by a disk budget (``max_bytes``, ``max_events``). When a
``put`` exceeds it, the oldest events of the least important class are evicted
in the same transaction: maintenance first, then activity, then urgent events.
Life-safety events (``protocol.LIFE_SAFETY_TYPES``) are never evicted; if only
they remain the budget is exceeded, and that is reported loudly. Life-safety
events are also sent first, so an SOS does not wait behind a backlog.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING
from uuid import UUID

from gateway._errors import InvalidReadingError, StoreError
from gateway.config import OutboxSettings
from gateway.pipeline import Reading
from protocol import LIFE_SAFETY_TYPES, EnvelopeError, EventType, new_event_id
from protocol.codec import encode_event

if TYPE_CHECKING:
    from protocol import Envelope

__all__ = [
    "EVICTION_ORDER",
    "ROW_OVERHEAD_BYTES",
    "EventClass",
    "Outbox",
    "Pending",
    "event_class",
]

_log = logging.getLogger(__name__)

_SEQ = "seq"
_LOG_EVERY_S = 60.0

_DEFAULTS = OutboxSettings()

#: What one stored event costs on disk beyond its JSON body: the row header, the
#: id's unique index entry and the class index entry (measured: bench gateway-disk).
ROW_OVERHEAD_BYTES = 125


class EventClass(IntEnum):
    """How an event is treated when the outbox is full; lower is more important."""

    LIFE_SAFETY = 0  # sos, fall, smoke, gas: never evicted, sent first
    URGENT = 1  # water_leak, vitals, tamper of a life-safety device: evicted last
    ACTIVITY = 2  # contact, motion, presence, bed, location: evicted after maintenance
    MAINTENANCE = 3  # battery, device_status, other tamper: evicted first


#: Classes in the order they are evicted; LIFE_SAFETY is never evicted.
EVICTION_ORDER: tuple[EventClass, ...] = (
    EventClass.MAINTENANCE,
    EventClass.ACTIVITY,
    EventClass.URGENT,
)

_URGENT_TYPES = frozenset({EventType.WATER_LEAK, EventType.VITALS})
_MAINTENANCE_TYPES = frozenset({EventType.BATTERY, EventType.DEVICE_STATUS, EventType.TAMPER})


def event_class(event_type: EventType, *, life_safety_device: bool) -> EventClass:
    """Classify an event; a tamper of a smoke, gas or SOS device counts as urgent."""
    if event_type in LIFE_SAFETY_TYPES:
        return EventClass.LIFE_SAFETY
    if event_type in _URGENT_TYPES:
        return EventClass.URGENT
    if event_type is EventType.TAMPER:
        # A tampered smoke or gas detector may no longer protect the resident.
        return EventClass.URGENT if life_safety_device else EventClass.MAINTENANCE
    if event_type in _MAINTENANCE_TYPES:
        return EventClass.MAINTENANCE
    return EventClass.ACTIVITY


@dataclass(frozen=True, slots=True)
class Pending:
    """An event waiting to be published: its encoded envelope and identity."""

    seq: int
    id: str
    cls: EventClass
    body: bytes


class Outbox:
    """The outbox of one home's gateway, on an open store connection.

    Keep one ``Outbox`` per store: it keeps the running size of the outbox in memory.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        home_id: str,
        *,
        max_bytes: int = _DEFAULTS.max_bytes,
        max_events: int = _DEFAULTS.max_events,
        life_safety_devices: Iterable[str] = (),
    ) -> None:
        self._conn = conn
        self._home = home_id
        self._max_bytes = max_bytes
        self._max_events = max_events
        self._life_safety_devices = frozenset(life_safety_devices)
        self.stats: Counter[str] = Counter()
        self.over_budget = False
        self._unlogged: Counter[EventClass] = Counter()
        self._next_log = 0.0
        self._count: Counter[EventClass] = Counter()
        self._bytes: Counter[EventClass] = Counter()
        try:
            rows = conn.execute(
                "SELECT cls, count(*), sum(length(body)) FROM outbox GROUP BY cls"
            ).fetchall()
        except sqlite3.Error as err:
            raise StoreError(f"cannot read the outbox: {err}") from err
        for cls, count, size in rows:
            self._count[EventClass(cls)] = int(count)
            self._bytes[EventClass(cls)] = int(size or 0) + ROW_OVERHEAD_BYTES * int(count)

    # -- writing ---------------------------------------------------------------

    def _encode(self, readings: Sequence[Reading], first_seq: int) -> list[Pending]:
        out: list[Pending] = []
        for i, reading in enumerate(readings):
            event_id = new_event_id()
            try:
                body = encode_event(
                    event_id=event_id,
                    home=self._home,
                    device=reading.device_id,
                    event_type=reading.type,
                    at=reading.at,
                    seq=first_seq + i,
                    room=reading.room,
                    data=reading.data,
                )
            except (EnvelopeError, ValueError) as err:
                raise InvalidReadingError(i, str(err)) from err
            cls = event_class(
                reading.type, life_safety_device=reading.device_id in self._life_safety_devices
            )
            out.append(Pending(first_seq + i, str(event_id), cls, body))
        return out

    def put(self, readings: Sequence[Reading]) -> list[Pending]:
        """Store readings as envelopes in one durable transaction and return them.

        Evicts the oldest less important events if the budget is exceeded.
        Raises ``InvalidReadingError`` (storing none of them) if one cannot be an envelope.
        """
        if not readings:
            return []
        count, size = Counter(self._count), Counter(self._bytes)
        evicted: Counter[EventClass] = Counter()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._conn.execute(
                    "SELECT value FROM counters WHERE name = ?", (_SEQ,)
                ).fetchone()
                first = 0 if row is None else int(row[0])
                stored = self._encode(readings, first)
                rows = []
                for p in stored:
                    body = p.body.decode()
                    rows.append((p.seq, p.id, int(p.cls), body))
                    count[p.cls] += 1
                    size[p.cls] += len(body) + ROW_OVERHEAD_BYTES
                self._conn.executemany(
                    "INSERT INTO outbox (seq, id, cls, body) VALUES (?, ?, ?, ?)", rows
                )
                self._conn.execute(
                    "INSERT INTO counters (name, value) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    (_SEQ, first + len(stored)),
                )
                self._evict(count, size, evicted)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        except sqlite3.Error as err:
            raise StoreError(f"cannot store {len(readings)} events: {err}") from err
        self._count, self._bytes = count, size
        self._report(evicted)
        return stored

    def _over(self, count: Counter[EventClass], size: Counter[EventClass]) -> bool:
        return sum(count.values()) > self._max_events or sum(size.values()) > self._max_bytes

    def _evict(
        self,
        count: Counter[EventClass],
        size: Counter[EventClass],
        evicted: Counter[EventClass],
    ) -> None:
        """Delete the oldest events of the least important classes until within budget."""
        for cls in EVICTION_ORDER:
            while self._over(count, size) and count[cls] > 0:
                excess_events = max(0, sum(count.values()) - self._max_events)
                excess_bytes = max(0, sum(size.values()) - self._max_bytes)
                # Enough rows for the excess count, and a chunk more when bytes are short.
                limit = max(excess_events, 1 if excess_bytes else 0) + (256 if excess_bytes else 0)
                rows = self._conn.execute(
                    "SELECT seq, length(body) FROM outbox WHERE cls = ? ORDER BY seq LIMIT ?",
                    (int(cls), limit),
                ).fetchall()
                if not rows:
                    break
                last, freed_events, freed_bytes = -1, 0, 0
                for seq, length in rows:
                    last = int(seq)
                    freed_events += 1
                    freed_bytes += int(length) + ROW_OVERHEAD_BYTES
                    if freed_events >= excess_events and freed_bytes >= excess_bytes:
                        break
                self._conn.execute(
                    "DELETE FROM outbox WHERE cls = ? AND seq <= ?", (int(cls), last)
                )
                count[cls] -= freed_events
                size[cls] -= freed_bytes
                evicted[cls] += freed_events

    def _report(self, evicted: Counter[EventClass]) -> None:
        for cls, n in evicted.items():
            self.stats[f"evicted:{cls.name.lower()}"] += n
            self.stats["evicted"] += n
            self._unlogged[cls] += n
        now = time.monotonic()
        # A full outbox evicts at every put: log a summary at most once a minute.
        if self._unlogged and now >= self._next_log:
            self._next_log = now + _LOG_EVERY_S
            for cls, n in sorted(self._unlogged.items()):
                _log.warning(
                    "outbox over its budget: evicted the %d oldest %s events (%d in all)",
                    n,
                    cls.name.lower(),
                    self.stats[f"evicted:{cls.name.lower()}"],
                )
            self._unlogged.clear()
        over = self._over(self._count, self._bytes)
        if over and not self.over_budget:
            self.stats["over_budget"] += 1
            _log.error(
                "outbox over its budget (%d events, %d bytes; limits %d, %d) with only "
                "life-safety events left: keeping them all; free disk or restore the uplink",
                self.size(),
                self.bytes_used(),
                self._max_events,
                self._max_bytes,
            )
        self.over_budget = over

    # -- reading and acknowledging ---------------------------------------------

    def next_pending(self, limit: int) -> list[Pending]:
        """Return up to ``limit`` events to publish: life-safety ones first, each class in order."""
        try:
            rows = self._conn.execute(
                "SELECT seq, id, cls, body FROM outbox WHERE cls = 0 ORDER BY seq LIMIT ?",
                (limit,),
            ).fetchall()
            if len(rows) < limit:
                rows += self._conn.execute(
                    "SELECT seq, id, cls, body FROM outbox WHERE cls != 0 ORDER BY seq LIMIT ?",
                    (limit - len(rows),),
                ).fetchall()
        except sqlite3.Error as err:
            raise StoreError(f"cannot read the outbox: {err}") from err
        return [Pending(s, i, EventClass(c), b.encode()) for s, i, c, b in rows]

    def next_batch(self, limit: int) -> list[Envelope]:
        """Return up to ``limit`` unacknowledged envelopes, life-safety first, then by ``seq``.

        For tools and tests: it decodes with the pydantic models, which the gateway
        itself never loads.
        """
        from protocol import decode_envelope  # noqa: PLC0415 - pydantic, see above

        return [decode_envelope(_loads(p.body)) for p in self.next_pending(limit)]

    def ack(self, ids: Iterable[UUID | str]) -> int:
        """Delete acknowledged envelopes by id; return how many were removed."""
        keys = [str(i) for i in ids]
        return self._delete("id", keys)

    def ack_pending(self, pending: Iterable[Pending]) -> int:
        """Delete acknowledged events returned by ``next_pending``; return how many were removed."""
        return self._delete("seq", [p.seq for p in pending])

    def _delete(self, column: str, keys: Sequence[object]) -> int:
        if not keys:
            return 0
        removed_rows: list[tuple[int, int]] = []
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for start in range(0, len(keys), 500):
                    chunk = keys[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    removed_rows += self._conn.execute(
                        f"DELETE FROM outbox WHERE {column} IN ({marks}) "  # noqa: S608 - fixed names
                        "RETURNING cls, length(body)",
                        chunk,
                    ).fetchall()
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        except sqlite3.Error as err:
            raise StoreError(f"cannot acknowledge {len(keys)} events: {err}") from err
        for cls, length in removed_rows:
            self._count[EventClass(cls)] -= 1
            self._bytes[EventClass(cls)] -= int(length) + ROW_OVERHEAD_BYTES
        if self.over_budget and not self._over(self._count, self._bytes):
            self.over_budget = False
            _log.info("outbox back within its budget")
        return len(removed_rows)

    # -- figures ---------------------------------------------------------------

    def size(self) -> int:
        """Return how many envelopes wait to be published."""
        return sum(self._count.values())

    def bytes_used(self) -> int:
        """Return the budgeted bytes of the waiting envelopes (bodies plus row overhead)."""
        return sum(self._bytes.values())

    def counts_by_class(self) -> dict[str, int]:
        """Return how many envelopes of each class wait."""
        return {cls.name.lower(): self._count[cls] for cls in EventClass if self._count[cls]}

    def next_seq(self) -> int:
        """Return the ``seq`` the next stored event will get."""
        row = self._conn.execute("SELECT value FROM counters WHERE name = ?", (_SEQ,)).fetchone()
        return 0 if row is None else int(row[0])


def _loads(body: bytes) -> dict[str, object]:
    value = json.loads(body)
    assert isinstance(value, dict)
    return value
