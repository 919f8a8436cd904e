"""Builders shared by the gateway tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.config import GatewayConfig

T0 = datetime(2026, 11, 23, 7, 42, 10, 123000, tzinfo=UTC)
SERIAL_CODE = "A1B2C3"


def at(seconds: float) -> datetime:
    """Return virtual time ``seconds`` after T0."""
    return T0 + timedelta(seconds=seconds)


def make_config(
    tmp_path: Path,
    *,
    uplink_port: int = 1883,
    zigbee_port: int | None = 1883,
    serial_path: str | None = None,
    home_id: str = "H0001",
    base_topic: str = "zigbee2mqtt",
    status_interval_s: float = 60.0,
    **extra: Any,
) -> GatewayConfig:
    """A config with a Zigbee2MQTT door and, if a serial path is given, an EV1527 door."""
    data: dict[str, Any] = {
        "home_id": home_id,
        "data_dir": str(tmp_path / "gw"),
        "uplink": {"host": "127.0.0.1", "port": uplink_port},
        "status_interval_s": status_interval_s,
        "devices": [],
    }
    if zigbee_port is not None:
        data["zigbee2mqtt"] = {
            "broker": {"host": "127.0.0.1", "port": zigbee_port},
            "base_topic": base_topic,
        }
        data["devices"].append(
            {
                "device_id": "door-front",
                "profile": "aqara_mccgq11lm",
                "address": "door_front",
                "room": "entrance",
            }
        )
    if serial_path is not None:
        data["serial"] = [{"name": "rf", "path": serial_path, "framing": "ev1527"}]
        data["devices"].append(
            {
                "device_id": "door-back",
                "profile": "ev1527_door",
                "address": SERIAL_CODE.lower(),
                "room": "kitchen",
                "port": "rf",
            }
        )
    data.update(extra)
    return GatewayConfig.model_validate(data)
