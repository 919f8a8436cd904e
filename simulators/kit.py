"""The default sensor kit of a simulated home, built from the shipped device profiles."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from device_profiles import SourceKind, load_registry
from protocol import EventType

__all__ = ["SERIAL_PORT", "KitDevice", "default_kit", "serial_code"]

#: The name of the simulated 433 MHz receiver port in the gateway config.
SERIAL_PORT = "rf433"


@dataclass(frozen=True, slots=True)
class KitDevice:
    """One installed device of a simulated home.

    ``address`` is the Zigbee2MQTT friendly name, or the six-hex-digit EV1527 code.
    ``initial`` lists the canonical readings the device's cached state starts from;
    ``extras`` are further fields Zigbee2MQTT publishes (link quality, voltage).
    """

    device_id: str
    profile: str
    room: str
    address: str
    source: SourceKind
    initial: tuple[tuple[EventType, dict[str, Any]], ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def code(self) -> int:
        """Return the EV1527 code of a serial device."""
        if self.source is not SourceKind.SERIAL:
            raise ValueError(f"{self.device_id} is not a serial device")
        return int(self.address, 16)


def serial_code(home_id: str, device_id: str, salt: int = 0) -> int:
    """Return a 24-bit EV1527 code derived deterministically from home and device ids."""
    digest = hashlib.sha256(f"{home_id}/{device_id}/{salt}".encode()).digest()
    return int.from_bytes(digest[:3], "big")


_BATTERY_FULL = (EventType.BATTERY, {"percent": 100, "low": False})

_ZIGBEE: tuple[
    tuple[str, str, str, tuple[tuple[EventType, dict[str, Any]], ...], dict[str, Any]], ...
] = (
    (
        "door_front",
        "aqara_mccgq11lm",
        "entrance",
        ((EventType.CONTACT, {"open": False}), _BATTERY_FULL),
        {"voltage": 3005, "linkquality": 120, "device_temperature": 22},
    ),
    (
        "pir_living",
        "aqara_rtcgq11lm",
        "living_room",
        ((EventType.MOTION, {"motion": False}), _BATTERY_FULL),
        {"voltage": 3055, "illuminance": 40, "illuminance_lux": 40, "linkquality": 102},
    ),
    (
        "smoke_kitchen",
        "heiman_hs1sa",
        "kitchen",
        (
            (EventType.SMOKE, {"alarm": False}),
            _BATTERY_FULL,
            (EventType.TAMPER, {"tampered": False}),
        ),
        {"linkquality": 92},
    ),
    (
        "gas_kitchen",
        "heiman_hs1cg",
        "kitchen",
        ((EventType.GAS, {"alarm": False}), (EventType.TAMPER, {"tampered": False})),
        {"battery_low": False, "linkquality": 156},
    ),
    ("sos_bedroom", "tuya_ts0215a_sos", "bedroom", (_BATTERY_FULL,), {"linkquality": 138}),
)

_SERIAL: tuple[tuple[str, str, str], ...] = (
    ("door_back", "ev1527_door", "kitchen"),
    ("pir_hall", "ev1527_pir", "hall"),
    ("pendant", "ev1527_sos_pendant", "bedroom"),
)


def default_kit(home_id: str) -> tuple[KitDevice, ...]:
    """Return the default devices of a home: five Zigbee2MQTT ones and three on 433 MHz."""
    registry = load_registry()
    devices = [
        KitDevice(device_id, profile, room, device_id, SourceKind.ZIGBEE2MQTT, initial, extras)
        for device_id, profile, room, initial, extras in _ZIGBEE
    ]
    used: set[int] = set()
    for device_id, profile, room in _SERIAL:
        salt = 0
        while (code := serial_code(home_id, device_id, salt)) in used:
            salt += 1
        used.add(code)
        devices.append(KitDevice(device_id, profile, room, f"{code:06X}", SourceKind.SERIAL))
    for device in devices:
        assert registry[device.profile].source is device.source
    return tuple(devices)
