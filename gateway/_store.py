"""The gateway's one SQLite file: outbox, sequence counter and dead letters."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from gateway._errors import StoreError

__all__ = ["open_store"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
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


def open_store(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the store at ``path`` in WAL mode with full fsync."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: every write below opens its own explicit transaction.
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # An event is acknowledged to its source only once it is on disk.
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(_SCHEMA)
    except (OSError, sqlite3.Error) as err:
        raise StoreError(f"cannot open the gateway store {path}: {err}") from err
    return conn
