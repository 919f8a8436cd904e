"""Shared parts of the resilience tests: a restartable backend broker, a backend, a sensor kit."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from backend.config import ApiSettings, BackendConfig, MqttSettings
from device_profiles import SourceKind
from homecare.broker import MosquittoProcess
from protocol import EventType
from simulators.kit import KitDevice


def persistent_broker(workdir: Path) -> MosquittoProcess:
    """A backend broker that keeps sessions across its own restart, as production does."""
    workdir.mkdir(parents=True, exist_ok=True)
    return MosquittoProcess(
        workdir, extra_config=f"persistence true\npersistence_location {workdir}/\n"
    )


def backend_config(db: Path, broker: MosquittoProcess, client_id: str) -> BackendConfig:
    return BackendConfig(
        database_url=f"sqlite+aiosqlite:///{db}",
        mqtt=MqttSettings(host=broker.host, port=broker.port, client_id=client_id),
        api=ApiSettings(enabled=False, token=SecretStr("t" * 32)),
    )


def toggle_kit(doors: int = 3, pirs: int = 3) -> tuple[KitDevice, ...]:
    """Door and motion sensors only, so that every report is exactly one event."""
    kit = [
        KitDevice(
            f"door_{i}",
            "aqara_mccgq11lm",
            "hall",
            f"door_{i}",
            SourceKind.ZIGBEE2MQTT,
            ((EventType.CONTACT, {"open": False}),),
        )
        for i in range(doors)
    ]
    kit += [
        KitDevice(
            f"pir_{i}",
            "aqara_rtcgq11lm",
            "room",
            f"pir_{i}",
            SourceKind.ZIGBEE2MQTT,
            ((EventType.MOTION, {"motion": False}),),
        )
        for i in range(pirs)
    ]
    return tuple(kit)


class Toggler:
    """Make event ``n`` of the run: device ``n % len(kit)`` flips its state."""

    def __init__(self, kit: tuple[KitDevice, ...]) -> None:
        self.kit = kit
        self.state: dict[str, bool] = {d.device_id: False for d in kit}
        self.sent: dict[str, list[bool]] = defaultdict(list)

    def next(self, n: int) -> tuple[str, EventType, dict[str, Any]]:
        device = self.kit[n % len(self.kit)]
        value = not self.state[device.device_id]
        self.state[device.device_id] = value
        self.sent[device.device_id].append(value)
        if device.profile == "aqara_mccgq11lm":
            return device.device_id, EventType.CONTACT, {"open": value}
        return device.device_id, EventType.MOTION, {"motion": value}


def stored_events(db: Path, home: str) -> list[tuple[str, str, int, bool]]:
    """Return (id, device, seq, value) of the home's contact and motion events, in storage order."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT id, device, seq, type, data FROM events "
            "WHERE home = ? AND type IN ('contact', 'motion') ORDER BY rowid",
            (home,),
        ).fetchall()
    finally:
        conn.close()
    out = []
    for event_id, device, seq, kind, data in rows:
        value = _value(kind, data)
        out.append((str(event_id), str(device), int(seq), value))
    return out


def _value(kind: str, data: str) -> bool:
    obj = json.loads(data)
    return bool(obj["open"] if kind == "contact" else obj["motion"])
