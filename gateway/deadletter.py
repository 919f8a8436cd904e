"""The dead-letter store: input that could not be used, kept with its reason.

Nothing is dropped silently: each rejection is logged (reason and source only,
never the raw content, which may carry names), counted by reason, and stored
with its raw bytes in the gateway's SQLite file. The table keeps the newest
``keep`` rows, so that radio noise cannot fill the disk.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from gateway._errors import StoreError
from gateway.sources import Rejection
from protocol import format_timestamp

__all__ = ["DeadLetter", "DeadLetters"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One stored rejection."""

    id: int
    at: str
    reason: str
    source: str
    detail: str
    raw: bytes


class DeadLetters:
    """Store, count and log rejections."""

    def __init__(self, conn: sqlite3.Connection, *, keep: int = 10_000) -> None:
        self._conn = conn
        self._keep = keep
        self.counts: Counter[str] = Counter()

    def add(self, rejections: list[Rejection]) -> None:
        """Store rejections in one transaction, count and log them."""
        if not rejections:
            return
        rows = [
            (format_timestamp(r.observed_at), r.reason, r.source, r.detail, r.raw)
            for r in rejections
        ]
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT INTO dead_letters (at, reason, source, detail, raw) "
                    "VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
                self._conn.execute(
                    "DELETE FROM dead_letters WHERE id <= (SELECT max(id) FROM dead_letters) - ?",
                    (self._keep,),
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        except sqlite3.Error as err:
            raise StoreError(f"cannot store {len(rows)} dead letters: {err}") from err
        for r in rejections:
            self.counts[r.reason] += 1
            _log.warning("dead letter from %s: %s (%d bytes)", r.source, r.reason, len(r.raw))

    def recent(self, limit: int = 100) -> list[DeadLetter]:
        """Return the newest stored rejections, newest first."""
        rows = self._conn.execute(
            "SELECT id, at, reason, source, detail, raw FROM dead_letters ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            DeadLetter(i, at, reason, src, detail, bytes(raw))
            for i, at, reason, src, detail, raw in rows
        ]

    def reject_now(self, reason: str, source: str, raw: bytes, at: datetime, detail: str) -> None:
        """Store a single rejection."""
        self.add([Rejection(reason, source, raw, at, detail)])
