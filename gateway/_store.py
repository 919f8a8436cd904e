"""The gateway's one SQLite file: outbox, sequence counter and dead letters."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Literal

from gateway._errors import StoreError

__all__ = ["Synchronous", "open_store"]

Synchronous = Literal["FULL", "NORMAL"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    cls INTEGER NOT NULL DEFAULT 2,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    reason TEXT NOT NULL,
    source TEXT NOT NULL,
    detail TEXT NOT NULL,
    raw BLOB NOT NULL
);
"""

# Outboxes written before event classes existed: classify their rows by type.
_ADD_CLASS = """
ALTER TABLE outbox ADD COLUMN cls INTEGER NOT NULL DEFAULT 2;
UPDATE outbox SET cls = 0
    WHERE json_extract(body, '$.type') IN ('sos', 'fall', 'smoke', 'gas');
UPDATE outbox SET cls = 3
    WHERE json_extract(body, '$.type') IN ('battery', 'device_status', 'tamper');
UPDATE outbox SET cls = 1
    WHERE json_extract(body, '$.type') IN ('water_leak', 'vitals');
"""

_INDEXES = "CREATE INDEX IF NOT EXISTS outbox_by_class ON outbox (cls, seq);"

#: Bytes of WAL kept on disk after a checkpoint; the WAL is truncated down to this.
WAL_SIZE_LIMIT = 4 * 1024 * 1024
#: SQLite page cache, in KiB.
CACHE_KIB = 1024


def open_store(path: Path, *, synchronous: Synchronous = "FULL") -> sqlite3.Connection:
    """Open (creating if needed) the store at ``path`` in WAL mode.

    ``synchronous`` is FULL in production: every commit is fsynced before the
    source is told the event is stored (docs/gateway.md explains the choice).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: every write below opens its own explicit transaction.
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        # The outbox is read in order, once: a small page cache keeps the process small.
        conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        conn.executescript(_SCHEMA)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(outbox)")}
        if "cls" not in columns:
            conn.executescript(f"BEGIN IMMEDIATE; {_ADD_CLASS} COMMIT;")
        conn.executescript(_INDEXES)
    except (OSError, sqlite3.Error) as err:
        raise StoreError(f"cannot open the gateway store {path}: {err}") from err
    return conn
