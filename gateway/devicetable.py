"""Per-device health, state and verdict, kept in the gateway's SQLite for installers.

The running gateway writes a row per configured device whenever its snapshot
changes and at every status interval; ``homecare gateway devices`` reads the
table while the gateway runs (SQLite in WAL mode lets readers in beside the
writer). The last-heard times also rebuild supervision deadlines after a restart.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from gateway._errors import StoreError
from protocol import format_timestamp

__all__ = ["DeviceRow", "DeviceTable", "read_devices"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY,
    profile TEXT NOT NULL,
    room TEXT,
    address TEXT NOT NULL,
    last_seen TEXT,
    battery REAL,
    battery_low INTEGER,
    link_quality REAL,
    state TEXT NOT NULL,
    verdict TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""
_COLUMNS = (
    "device_id, profile, room, address, last_seen, battery, battery_low, "
    "link_quality, state, verdict, updated_at"
)


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """One device as the installer sees it."""

    device_id: str
    profile: str
    room: str | None
    address: str
    last_seen: str | None
    battery: float | None
    battery_low: bool | None
    link_quality: float | None
    state: dict[str, Any]
    verdict: str
    updated_at: str

    def as_dict(self) -> dict[str, Any]:
        """Return the row as plain JSON-ready data."""
        return {
            "device_id": self.device_id,
            "profile": self.profile,
            "room": self.room,
            "address": self.address,
            "last_seen": self.last_seen,
            "battery": self.battery,
            "battery_low": self.battery_low,
            "link_quality": self.link_quality,
            "state": self.state,
            "verdict": self.verdict,
            "updated_at": self.updated_at,
        }


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _row(raw: tuple[Any, ...]) -> DeviceRow:
    device_id, profile, room, address, seen, battery, low, lqi, state, verdict, updated = raw
    return DeviceRow(
        device_id,
        profile,
        room,
        address,
        seen,
        battery,
        None if low is None else bool(low),
        lqi,
        json.loads(state),
        verdict,
        updated,
    )


class DeviceTable:
    """The ``devices`` table on the gateway's open store connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._written: dict[str, dict[str, Any]] = {}
        try:
            conn.execute(_SCHEMA)
        except sqlite3.Error as err:
            raise StoreError(f"cannot create the devices table: {err}") from err

    def last_heard(self) -> dict[str, datetime]:
        """Return each device's last-seen time as stored by an earlier run."""
        out: dict[str, datetime] = {}
        try:
            rows = self._conn.execute("SELECT device_id, last_seen FROM devices").fetchall()
        except sqlite3.Error as err:
            raise StoreError(f"cannot read the devices table: {err}") from err
        for device_id, seen in rows:
            if seen:
                try:
                    out[device_id] = datetime.fromisoformat(seen)
                except ValueError:
                    continue
        return out

    def write(self, snapshot: Mapping[str, Mapping[str, Any]], now: datetime) -> int:
        """Write the rows that changed since the last write; return how many."""
        changed = [(k, dict(v)) for k, v in snapshot.items() if self._written.get(k) != v]
        if not changed:
            return 0
        stamp = format_timestamp(now)
        rows = [
            (
                device_id,
                snap["profile"],
                snap.get("room"),
                snap["address"],
                snap.get("last_seen"),
                _number(snap.get("battery")),
                None if snap.get("battery_low") is None else int(bool(snap["battery_low"])),
                _number(snap.get("link_quality")),
                json.dumps(snap.get("state", {}), sort_keys=True, default=str),
                snap["verdict"],
                stamp,
            )
            for device_id, snap in changed
        ]
        try:
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany(
                    f"INSERT OR REPLACE INTO devices ({_COLUMNS}) "  # noqa: S608 - constant columns
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
        except sqlite3.Error as err:
            raise StoreError(f"cannot write {len(rows)} device rows: {err}") from err
        self._written.update(changed)
        return len(rows)


def read_devices(path: Path) -> list[DeviceRow]:
    """Read the devices table of a gateway store, read-only, beside a running gateway."""
    if not path.exists():
        raise StoreError(f"no gateway store at {path}; has the gateway run with this data_dir?")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM devices ORDER BY room, device_id"  # noqa: S608
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.Error as err:
        raise StoreError(f"cannot read devices from {path}: {err}") from err
    return [_row(r) for r in rows]
