"""``homecare gateway devices``: the installer's view of each device's health.

Reads the ``devices`` table the running gateway keeps in its SQLite store
(read-only, beside the running gateway) and prints one line per configured
device: last seen, battery, link quality, current state and supervision verdict.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from gateway._errors import StoreError
from gateway.app import STORE_FILE
from gateway.config import load_gateway_config
from gateway.devicetable import DeviceRow, read_devices

__all__ = ["format_table", "run_devices"]

_COLUMNS = ("device", "room", "profile", "last seen", "battery", "link", "state", "verdict")


def _state(state: dict[str, Any]) -> str:
    parts = []
    for kind, data in sorted(state.items()):
        values = ",".join(f"{k}={v}" for k, v in sorted(data.items()))
        parts.append(f"{kind}({values})")
    return " ".join(parts) or "-"


def _number(value: float | None, suffix: str = "") -> str:
    return "-" if value is None else f"{value:g}{suffix}"


def _cells(row: DeviceRow) -> tuple[str, ...]:
    battery = _number(row.battery, "%")
    if row.battery_low:
        battery = f"{battery} LOW" if row.battery is not None else "LOW"
    return (
        row.device_id,
        row.room or "-",
        row.profile,
        row.last_seen or "never",
        battery,
        _number(row.link_quality),
        _state(row.state),
        row.verdict,
    )


def format_table(rows: list[DeviceRow]) -> str:
    """Render rows as an aligned text table."""
    lines = [tuple(c.upper() for c in _COLUMNS), *(_cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(_COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def run_devices(config_path: Path, *, as_json: bool, out: TextIO = sys.stdout) -> int:
    """Print the devices of the gateway configured in ``config_path``; return an exit code."""
    config = load_gateway_config(config_path)
    try:
        stored = {r.device_id: r for r in read_devices(config.data_dir / STORE_FILE)}
    except StoreError as err:
        sys.stderr.write(f"homecare: {err}\n")
        return 1
    rows = [
        stored.get(d.device_id)
        or DeviceRow(
            d.device_id,
            d.profile,
            d.room,
            d.address,
            None,
            None,
            None,
            None,
            {},
            "not heard yet",
            "",
        )
        for d in config.devices
    ]
    if as_json:
        json.dump([r.as_dict() for r in rows], out, indent=2)
        out.write("\n")
    else:
        out.write(format_table(rows) + "\n")
    return 0
